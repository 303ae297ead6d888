"""Fixtures shared by the whole suite.

Database tests run once on SQLite and once on PostgreSQL (`database_url` is parametrised). The
PostgreSQL run uses a schema of its own in the `test` database (or `HUB_TEST_POSTGRES_URL`) and
is skipped, with the reason printed, when no server answers.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

import migrations
from hub.config import PasswordHashing, Settings
from hub.database import make_engine, make_session_factory
from hub.models import Base
from hub.portals.models import Portal
from launcher.cluster import haproxy_binary
from tests.factories import make_portal

POSTGRES_URL = os.environ.get(
    "HUB_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test?connect_timeout=3"
)
LIGHT_HASHING = PasswordHashing(time_cost=1, memory_cost=8, parallelism=1)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def postgres_unavailable() -> str | None:
    """Why PostgreSQL cannot be used for tests, or None when it can."""
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:
        return f"PostgreSQL unreachable at {make_url(POSTGRES_URL).render_as_string()}: {error}"
    finally:
        engine.dispose()
    return None


def with_search_path(url: str, schema: str) -> str:
    parsed = make_url(url)
    query = dict(parsed.query) | {"options": f"-csearch_path={schema}"}
    return parsed.set(query=query).render_as_string(hide_password=False)


@contextmanager
def empty_postgres_schema(prefix: str = "hubtest") -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema, dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_search_path(POSTGRES_URL, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL schema for this test session (xdist workers get their own)."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with empty_postgres_schema() as url:
        yield url


@pytest.fixture
def cluster_database() -> Iterator[str]:
    """An empty PostgreSQL schema for a cluster of hub instances behind HAProxy (`hub cluster`'s
    topology); skipped, with the reason, when either is missing."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    if haproxy_binary() is None:
        pytest.skip("HAProxy is not installed (.ci/run installs it: apt-get install haproxy)")
    with empty_postgres_schema("hubcluster") as url:
        yield url


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The URL of a migrated database, once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_schema_url")
    migrations.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def empty_all_tables(engine: Engine) -> None:
    tables = list(reversed(Base.metadata.sorted_tables))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions on a database emptied after the test (tests may commit, even concurrently)."""
    yield make_session_factory(engine)
    empty_all_tables(engine)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as session:
        yield session


@pytest.fixture
def soltea(session: Session) -> Portal:
    return make_portal(session, "soltea")


@pytest.fixture
def certificateurs(session: Session) -> Portal:
    return make_portal(session, "certificateurs")


@pytest.fixture
def now() -> datetime:
    """The tests' present: Monday 23 November 2026, 10:00 UTC."""
    return NOW


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        instance_path=tmp_path / "instance",
        database_url=database_url,
        secret_key="test-secret-key",
        passwords=LIGHT_HASHING,
    )


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker[Session]):
    from idp import create_app

    app = create_app(settings, TESTING=True)
    yield app
    with app.app_context():
        from idp.extensions import db

        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def demo(session: Session) -> None:
    """DESIGN.md §4, loaded at the (possibly travelled) current time, committed."""
    from hub.clock import utcnow
    from hub.demo import load_demo

    load_demo(session, now=utcnow(), passwords=LIGHT_HASHING)
    session.commit()


@pytest.fixture
def sign_in_as(session: Session, settings: Settings):
    """Gives a Flask test client a live single sign-on session for `username`, as if the person
    had signed in on the hub's page; returns the `BrowserSession`."""
    from sqlalchemy import select

    from hub.clock import utcnow
    from hub.oidc import sessions
    from hub.users.models import User
    from idp.web.sessions import COOKIE_NAME

    def sign_in(client, username: str):
        user = session.scalar(select(User).filter_by(username=username))
        new = sessions.start(session, user, now=utcnow(), lifetimes=settings.oidc)
        session.commit()
        client.set_cookie(COOKIE_NAME, new.cookie_value, domain="localhost")
        return new.browser_session

    return sign_in


@pytest.fixture(autouse=True)
def fresh_key_ring():
    """The identity provider caches its signing keys per process, while each test has its own
    database: every test starts from, and leaves, an empty cache."""
    from idp.oidc.signing import key_ring

    key_ring.reload()
    yield
    key_ring.reload()
