"""The migrations build exactly the models' schema, and go down and up again on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import DatabaseError

import migrations
from hub.accounts.models import Account, Invitation, Right
from hub.audit.models import AuditEvent
from hub.database import make_engine
from hub.models import Base
from hub.oidc.models import OidcClient
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.models import User
from migrations import heads
from tests.conftest import NOW, empty_postgres_schema

SCHEMA_TABLES = set(Base.metadata.tables)


def test_models_and_migrations_do_not_drift(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == []


@pytest.fixture
def blank_database_url(database_url, tmp_path):
    """An empty database of the same kind as `database_url`, for migrations to build."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'blank.sqlite3'}"
        return
    with empty_postgres_schema("hubmig") as url:
        yield url


def table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade(blank_database_url):
    migrations.upgrade(blank_database_url)
    assert table_names(blank_database_url) == SCHEMA_TABLES

    migrations.downgrade(blank_database_url, "base")
    assert table_names(blank_database_url) == set()

    migrations.upgrade(blank_database_url)
    assert table_names(blank_database_url) == SCHEMA_TABLES


def test_the_database_refuses_to_rewrite_the_audit_log(session):
    session.add(AuditEvent(occurred_at=NOW, actor="alice.martin", action="account.renew"))
    session.commit()

    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(AuditEvent.__table__.update().values(actor="mallory"))
    session.rollback()

    assert session.scalar(select(AuditEvent.actor)) == "alice.martin"


def test_portals_registered_before_the_admin_scope_may_ask_for_it(blank_database_url):
    """The `admin` scope (issue 5) reaches clients registered earlier, and goes on downgrade."""
    admin_scope = "e5a7c9b1d3f6"
    before = (
        ScriptDirectory.from_config(migrations.alembic_config(blank_database_url))
        .get_revision(admin_scope)
        .down_revision
    )
    migrations.upgrade(blank_database_url, before)
    engine = make_engine(blank_database_url)
    try:
        with engine.begin() as connection:
            portal_id = connection.execute(
                insert(Portal.__table__).values(
                    code="soltea", name="SOLTÉA", validity_months=18, base_url="http://x"
                )
            ).inserted_primary_key[0]
            connection.execute(
                insert(OidcClient.__table__).values(
                    client_id="soltea",
                    secret_hash="0" * 64,
                    portal_id=portal_id,
                    name="SOLTÉA",
                    redirect_uris=[],
                    post_logout_redirect_uris=[],
                    token_endpoint_auth_method="client_secret_basic",
                    id_token_signed_response_alg="RS256",
                    scope="openid profile email accounts",
                    first_party=True,
                    created_at=NOW,
                )
            )
        scope = select(OidcClient.__table__.c.scope)

        migrations.upgrade(blank_database_url, admin_scope)
        with engine.connect() as connection:
            assert connection.scalar(scope) == "openid profile email accounts admin"
        migrations.downgrade(blank_database_url, before)
        with engine.connect() as connection:
            assert connection.scalar(scope) == "openid profile email accounts"
    finally:
        engine.dispose()


def test_accounts_of_people_without_a_password_become_invitations(blank_database_url):
    """Issue 12 §2: under the earlier model « Créer un compte » opened an account at once for a
    person who had not chosen a password; it becomes the invitation they accept, and nothing
    stays usable on the portal meanwhile. People who chose a password keep their accounts."""
    migrations.upgrade(blank_database_url, "b8e0a2c4d6f9")
    engine = make_engine(blank_database_url)
    try:
        with engine.begin() as connection:
            portal = connection.execute(
                insert(Portal.__table__).values(
                    code="soltea", name="SOLTÉA", validity_months=18, base_url="http://x"
                )
            ).inserted_primary_key[0]
            structure = connection.execute(
                insert(Structure.__table__).values(
                    matricule="100001",
                    siret="10000010800017",
                    name="Alpha",
                    kind="training_organisation",
                    created_at=NOW,
                    updated_at=NOW,
                )
            ).inserted_primary_key[0]
            people = {}
            for username, password_hash in (("denis.blanc", None), ("alice.martin", "h")):
                people[username] = connection.execute(
                    insert(User.__table__).values(
                        public_id=username,
                        username=username,
                        email=f"{username}@alpha.example",
                        last_name="N",
                        first_name="P",
                        password_hash=password_hash,
                        password_must_change=False,
                        email_verified=False,
                        search_text="",
                        created_at=NOW,
                        updated_at=NOW,
                    )
                ).inserted_primary_key[0]
                connection.execute(
                    insert(Account.__table__).values(
                        user_id=people[username],
                        structure_id=structure,
                        portal_id=portal,
                        role="admin",
                        is_first_admin=False,
                        rights={Right.DATA_EXCHANGE},
                        created_at=NOW,
                        expires_at=NOW,
                    )
                )

        migrations.upgrade(blank_database_url)

        with engine.connect() as connection:
            holders = connection.scalars(select(Account.__table__.c.user_id)).all()
            invitation = connection.execute(select(Invitation.__table__)).mappings().one()
        assert holders == [people["alice.martin"]]
        assert (invitation["invitee"], invitation["user_id"], invitation["status"]) == (
            "denis.blanc@alpha.example",
            people["denis.blanc"],
            "pending",
        )
        assert (invitation["role"], invitation["rights"]) == ("admin", {Right.DATA_EXCHANGE})
    finally:
        engine.dispose()


def alembic_database_heads(url: str) -> frozenset[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return frozenset(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def database_heads(url: str) -> frozenset[str]:
    """`migrations.heads.database_heads`, and proof that the transaction it ran in goes on (on
    PostgreSQL, a failed statement would have aborted it)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            found = heads.database_heads(connection)
            assert connection.scalar(text("SELECT 1")) == 1
            return found
    finally:
        engine.dispose()


def test_readiness_reads_the_heads_alembic_reads_without_alembic(blank_database_url):
    """`/readyz` asks whether the database is at head without importing alembic
    (`migrations.heads`): the same answers as alembic's, before the first migration, half-way
    and at head."""
    scripts = ScriptDirectory.from_config(migrations.alembic_config(blank_database_url))
    assert heads.script_heads() == frozenset(scripts.get_heads())

    assert database_heads(blank_database_url) == frozenset()
    assert alembic_database_heads(blank_database_url) == frozenset()

    migrations.upgrade(blank_database_url, "b8e0a2c4d6f9")
    assert database_heads(blank_database_url) == {"b8e0a2c4d6f9"}
    assert alembic_database_heads(blank_database_url) == {"b8e0a2c4d6f9"}

    migrations.upgrade(blank_database_url)
    assert database_heads(blank_database_url) == heads.script_heads()
    assert alembic_database_heads(blank_database_url) == heads.script_heads()


REVISIONS = {
    "first.py": "revision = 'a1'\ndown_revision = None\n",
    "typed.py": 'revision: str = "b2"\ndown_revision: str | None = "a1"\n',
    "branch.py": "revision = 'c3'\ndown_revision = 'a1'\nbranch_labels = None\n",
    "merge.py": "revision = 'd4'\ndown_revision = ('b2', 'c3')\n",
    "unmerged.py": "import os\n\nrevision = 'e5'\ndown_revision = ('a1',)\n",
    "__init__.py": "",
}


def test_script_heads_of_branches_and_merges_are_alembics(tmp_path: Path):
    """A merge (`down_revision` a tuple), a branch left open, typed assignments, a package's
    `__init__`: the heads read from the files are those alembic finds by importing them."""
    versions = tmp_path / "versions"
    versions.mkdir()
    for name, source in REVISIONS.items():
        (versions / name).write_text(source, encoding="utf-8")

    alembic_heads = frozenset(ScriptDirectory(str(tmp_path)).get_heads())

    assert alembic_heads == {"d4", "e5"}
    assert heads.script_heads(versions) == alembic_heads
