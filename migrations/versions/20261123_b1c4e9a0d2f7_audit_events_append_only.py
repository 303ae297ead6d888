"""Audit events are append-only: the database refuses to update them.

Revision ID: b1c4e9a0d2f7
Revises: 67f5b02187b3
Create Date: 2026-11-23 11:30:00
"""

from alembic import op

revision = "b1c4e9a0d2f7"
down_revision = "67f5b02187b3"
branch_labels = None
depends_on = None

MESSAGE = "audit events are append-only"


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION audit_events_refuse_update() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'insufficient_privilege';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_update()"
        )
    else:
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE ON audit_events "
            f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    op.execute(
        "DROP TRIGGER audit_events_append_only"
        + (" ON audit_events" if op.get_context().dialect.name == "postgresql" else "")
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_events_refuse_update()")
