"""support: « Changer d'administrateur » requests (R11) and the console's operator sessions

Revision ID: e308f8e55c70
Revises: c9f1b3d5e7a0
Create Date: 2026-12-04 18:09:21.500087
"""

from alembic import op
import sqlalchemy as sa


revision = 'e308f8e55c70'
down_revision = 'c9f1b3d5e7a0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('support_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('login', sa.String(length=128), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.Enum('operator', 'reader', name='operatorrole', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('authenticated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_support_sessions_key_hash'))
    )
    with op.batch_alter_table('support_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_support_sessions_login'), ['login'], unique=False)

    op.create_table('admin_change_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('status', sa.Enum('new', 'in_progress', 'done', 'refused', name='requeststatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('portal_id', sa.Integer(), nullable=False),
    sa.Column('matricule', sa.String(length=20), nullable=False),
    sa.Column('contract', sa.String(length=50), nullable=False),
    sa.Column('siret', sa.String(length=14), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('civility', sa.Enum('M.', 'Mme', name='civility', native_enum=False, create_constraint=True, length=8), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=True),
    sa.Column('mobile_phone', sa.String(length=20), nullable=True),
    sa.Column('landline_phone', sa.String(length=20), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('holder_login', sa.String(length=128), nullable=True),
    sa.Column('holder_name', sa.String(length=200), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refusal_reason', sa.Text(), nullable=True),
    sa.Column('designated_user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['designated_user_id'], ['users.id'], name=op.f('fk_admin_change_requests_designated_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['portal_id'], ['portals.id'], name=op.f('fk_admin_change_requests_portal_id_portals'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_change_requests')),
    sa.UniqueConstraint('number', name=op.f('uq_admin_change_requests_number'))
    )
    with op.batch_alter_table('admin_change_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_change_requests_email'), ['email'], unique=False)
        batch_op.create_index('ix_admin_change_requests_matricule_status', ['matricule', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_admin_change_requests_siret'), ['siret'], unique=False)
        batch_op.create_index('ix_admin_change_requests_status_created', ['status', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('admin_change_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_change_requests_status_created')
        batch_op.drop_index(batch_op.f('ix_admin_change_requests_siret'))
        batch_op.drop_index('ix_admin_change_requests_matricule_status')
        batch_op.drop_index(batch_op.f('ix_admin_change_requests_email'))

    op.drop_table('admin_change_requests')
    with op.batch_alter_table('support_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_support_sessions_login'))

    op.drop_table('support_sessions')
