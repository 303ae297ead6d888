"""reminders sent (expiry reminders, each account and threshold mailed once)

Revision ID: 755e2faf25b5
Revises: d4e6f8a0b2c4
Create Date: 2026-11-23 14:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '755e2faf25b5'
down_revision = 'd4e6f8a0b2c4'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reminders_sent',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('threshold_days', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_reminders_sent_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders_sent')),
    sa.UniqueConstraint('account_id', 'threshold_days', 'expires_at', name=op.f('uq_reminders_sent_account_id_threshold_days_expires_at'))
    )


def downgrade() -> None:
    op.drop_table('reminders_sent')
