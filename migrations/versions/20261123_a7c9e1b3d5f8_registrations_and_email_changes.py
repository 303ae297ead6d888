"""registrations (R12: pending until the e-mail is validated), CGU acceptances, e-mail changes

Revision ID: a7c9e1b3d5f8
Revises: f6b8d0c2e4a7
Create Date: 2026-11-23 15:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = 'a7c9e1b3d5f8'
down_revision = 'f6b8d0c2e4a7'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('email_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('portal_id', sa.Integer(), nullable=True),
    sa.Column('old_email', sa.String(length=254), nullable=False),
    sa.Column('new_email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['portal_id'], ['portals.id'], name=op.f('fk_email_changes_portal_id_portals'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_changes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_changes')),
    sa.UniqueConstraint('nonce', name=op.f('uq_email_changes_nonce'))
    )
    with op.batch_alter_table('email_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_changes_user_id'), ['user_id'], unique=False)
    op.create_table('registrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('pending', 'completed', name='registrationstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('portal_id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('certifier_matricules', sa.JSON(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('civility', sa.Enum('M.', 'Mme', name='civility', native_enum=False, create_constraint=True, length=8), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('service', sa.String(length=100), nullable=True),
    sa.Column('mobile_phone', sa.String(length=20), nullable=True),
    sa.Column('landline_phone', sa.String(length=20), nullable=True),
    sa.Column('terms_version', sa.String(length=20), nullable=False),
    sa.Column('terms_accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('next_path', sa.Text(), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['portal_id'], ['portals.id'], name=op.f('fk_registrations_portal_id_portals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_registrations_structure_id_structures'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_registrations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registrations')),
    sa.UniqueConstraint('nonce', name=op.f('uq_registrations_nonce'))
    )
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registrations_structure_id'), ['structure_id'], unique=False)
    op.create_table('terms_acceptances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_terms_acceptances_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terms_acceptances')),
    sa.UniqueConstraint('user_id', 'version', name=op.f('uq_terms_acceptances_user_id_version'))
    )


def downgrade() -> None:
    op.drop_table('terms_acceptances')
    with op.batch_alter_table('registrations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registrations_structure_id'))
    op.drop_table('registrations')
    with op.batch_alter_table('email_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_changes_user_id'))
    op.drop_table('email_changes')
