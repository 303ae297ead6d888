"""registrations: the step token's nonce, so that each step token mails once (issue 12 §2)

Revision ID: b8e0a2c4d6f9
Revises: a7c9e1b3d5f8
Create Date: 2026-12-04 14:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'b8e0a2c4d6f9'
down_revision = 'a7c9e1b3d5f8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('step_nonce', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_registrations_step_nonce'), ['step_nonce'])


def downgrade() -> None:
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_registrations_step_nonce'), type_='unique')
        batch_op.drop_column('step_nonce')
