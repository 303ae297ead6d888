"""invitations: « Créer un compte » accepted by the person (issue 12 §2)

Accounts opened for people who never chose a password (the earlier invitation model) become
pending invitations with the same role and rights: the person accepts by choosing a password,
as before, and nothing stays usable on a portal before that.

Revision ID: c9f1b3d5e7a0
Revises: b8e0a2c4d6f9
Create Date: 2026-12-04 15:30:00
"""

import secrets
from datetime import timedelta

from alembic import op
import sqlalchemy as sa

from hub.database import UTCDateTime


revision = 'c9f1b3d5e7a0'
down_revision = 'b8e0a2c4d6f9'
branch_labels = None
depends_on = None

INVITATION_DAYS = 7


def upgrade() -> None:
    op.create_table('invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('pending', 'accepted', 'cancelled', name='invitationstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('portal_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('admin', 'user', name='role', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('rights', sa.String(length=200), nullable=False),
    sa.Column('invitee', sa.String(length=254), nullable=False),
    sa.Column('civility', sa.Enum('M.', 'Mme', name='civility', native_enum=False, create_constraint=True, length=8), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('service', sa.String(length=100), nullable=True),
    sa.Column('mobile_phone', sa.String(length=20), nullable=True),
    sa.Column('landline_phone', sa.String(length=20), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_invitations_account_id_accounts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['portal_id'], ['portals.id'], name=op.f('fk_invitations_portal_id_portals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_invitations_structure_id_structures'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_invitations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('nonce', name=op.f('uq_invitations_nonce'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index('ix_invitations_structure_portal_status', ['structure_id', 'portal_id', 'status'], unique=False)
    _pending_accounts_become_invitations()


def _pending_accounts_become_invitations() -> None:
    connection = op.get_bind()
    accounts = sa.table(
        'accounts', sa.column('id'), sa.column('user_id'), sa.column('structure_id'),
        sa.column('portal_id'), sa.column('role'), sa.column('rights'),
        sa.column('created_at', UTCDateTime()),
    )
    users = sa.table(
        'users', sa.column('id'), sa.column('email'), sa.column('password_hash'),
        sa.column('civility'), sa.column('last_name'), sa.column('first_name'),
        sa.column('service'), sa.column('mobile_phone'), sa.column('landline_phone'),
    )
    invitations = sa.table(
        'invitations',
        *(sa.column(name) for name in (
            'nonce', 'status', 'structure_id', 'portal_id', 'role', 'rights', 'invitee',
            'civility', 'last_name', 'first_name', 'service', 'mobile_phone', 'landline_phone',
            'user_id',
        )),
        *(sa.column(name, UTCDateTime()) for name in ('created_at', 'sent_at', 'expires_at')),
    )
    pending = connection.execute(
        sa.select(accounts, users)
        .join(users, users.c.id == accounts.c.user_id)
        .where(users.c.password_hash.is_(None))
    ).mappings().all()
    if not pending:
        return
    connection.execute(invitations.insert(), [
        {
            'nonce': secrets.token_urlsafe(24), 'status': 'pending',
            'structure_id': row['structure_id'], 'portal_id': row['portal_id'],
            'role': row['role'], 'rights': row['rights'], 'invitee': row['email'],
            'civility': row['civility'], 'last_name': row['last_name'],
            'first_name': row['first_name'], 'service': row['service'],
            'mobile_phone': row['mobile_phone'], 'landline_phone': row['landline_phone'],
            'user_id': row['user_id'], 'created_at': row['created_at'],
            'sent_at': row['created_at'],
            'expires_at': row['created_at'] + timedelta(days=INVITATION_DAYS),
        }
        for row in pending
    ])
    connection.execute(accounts.delete().where(accounts.c.id.in_([row['id'] for row in pending])))


def downgrade() -> None:
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_invitations_structure_portal_status')
    op.drop_table('invitations')
