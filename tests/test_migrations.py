"""The migrations build exactly the models' schema, and go down and up again on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, select
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
