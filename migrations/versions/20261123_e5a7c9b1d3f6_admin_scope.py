"""admin scope: every registered portal may ask for `admin` (the /api/v1/admin calls)

Revision ID: e5a7c9b1d3f6
Revises: 755e2faf25b5
Create Date: 2026-11-23 15:00:00
"""

from alembic import op


revision = 'e5a7c9b1d3f6'
down_revision = '755e2faf25b5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Scopes are space-separated tokens: padded with spaces, ` admin ` matches the token only.
    op.execute(
        "UPDATE oidc_clients SET scope = scope || ' admin' "
        "WHERE ' ' || scope || ' ' NOT LIKE '% admin %'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE oidc_clients SET scope = trim(replace(' ' || scope || ' ', ' admin ', ' ')) "
        "WHERE ' ' || scope || ' ' LIKE '% admin %'"
    )
