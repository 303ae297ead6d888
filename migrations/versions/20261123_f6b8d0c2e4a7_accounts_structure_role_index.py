"""accounts: index (structure_id, role), a structure's administrators without reading all its accounts

Revision ID: f6b8d0c2e4a7
Revises: e5a7c9b1d3f6
Create Date: 2026-11-23 15:10:00
"""

from alembic import op


revision = 'f6b8d0c2e4a7'
down_revision = 'e5a7c9b1d3f6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.create_index('ix_accounts_structure_role', ['structure_id', 'role'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('accounts', schema=None) as batch_op:
        batch_op.drop_index('ix_accounts_structure_role')
