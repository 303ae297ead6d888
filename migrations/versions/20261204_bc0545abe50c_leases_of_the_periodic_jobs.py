"""leases of the periodic jobs

Revision ID: bc0545abe50c
Revises: e308f8e55c70
Create Date: 2026-12-04 20:55:01.697594
"""

from alembic import op
import sqlalchemy as sa


revision = 'bc0545abe50c'
down_revision = 'e308f8e55c70'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('leases',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('acquired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_leases'))
    )


def downgrade() -> None:
    op.drop_table('leases')
