"""temporary passwords (R14, « Mot de passe oublié »)

Revision ID: d4e6f8a0b2c4
Revises: c3d5f7a9e1b2
Create Date: 2026-11-23 13:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'd4e6f8a0b2c4'
down_revision = 'c3d5f7a9e1b2'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.add_column(sa.Column('temporary_password_hash', sa.String(length=255), nullable=True))
        batch_op.add_column(
            sa.Column('temporary_password_expires_at', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('users') as batch_op:
        batch_op.drop_column('temporary_password_expires_at')
        batch_op.drop_column('temporary_password_hash')
