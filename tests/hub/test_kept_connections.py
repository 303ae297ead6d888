"""The connections kept between the protocol's units of work (`hub.kept_connections`): a unit
finds the database as a fresh connection would, none outlives its engine, none survives the
database going away, and no more than `KEPT` are held idle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import scoped_session, sessionmaker

from hub.database import make_engine
from hub.errors import DatabaseUnavailable
from hub.kept_connections import KEPT, kept_connection
from hub.transactions import on_connection

BACKEND = text("SELECT pg_backend_pid()")


@pytest.fixture
def own_engine(database_url: str) -> Iterator[Engine]:
    """An engine of the test's own: what it keeps is the test's to observe."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def unit(engine: Engine, statement):
    """One unit of work, as the protocol's endpoints run them; what its statement returned."""
    session = scoped_session(sessionmaker(bind=engine))
    with on_connection(engine, session, begin_at_first_write=True) as connection:
        return connection.execute(statement).scalar_one()


def only_on_postgresql(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("a server's connections are PostgreSQL's alone (SQLite is a file)")


def backends(engine: Engine) -> set[int]:
    """The server processes connected to the engine's database, but the one asking."""
    with engine.connect() as connection:
        return set(
            connection.execute(
                text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )


def test_a_unit_sees_what_another_connection_committed_since_the_last_one(own_engine):
    with own_engine.begin() as other:
        other.execute(text("CREATE TABLE kept_probe (n INTEGER)"))
    try:
        assert unit(own_engine, text("SELECT count(*) FROM kept_probe")) == 0
        with own_engine.begin() as other:
            other.execute(text("INSERT INTO kept_probe (n) VALUES (1)"))

        assert unit(own_engine, text("SELECT count(*) FROM kept_probe")) == 1
    finally:
        with own_engine.begin() as other:
            other.execute(text("DROP TABLE kept_probe"))


def test_the_next_unit_runs_on_the_connection_the_last_one_left(own_engine):
    only_on_postgresql(own_engine)
    first = unit(own_engine, BACKEND)

    assert unit(own_engine, BACKEND) == first
    assert first in backends(own_engine)  # idle, kept


def test_disposing_the_engine_closes_what_it_kept(own_engine):
    only_on_postgresql(own_engine)
    kept = unit(own_engine, BACKEND)

    own_engine.dispose()

    assert kept not in backends(own_engine)  # which connects again, on a new pool


def test_no_more_than_kept_connections_stay_idle(own_engine):
    with ExitStack() as units:
        for _ in range(KEPT + 2):  # a burst of concurrent units
            units.enter_context(kept_connection(own_engine))
        assert own_engine.pool.checkedout() == KEPT + 2

    assert own_engine.pool.checkedout() == KEPT


def test_after_the_database_went_away_no_dead_connection_is_used_again(own_engine, database_url):
    """Two kept connections die together (a restart); the first unit after it meets one and
    fails as any unit would (the web request is then replayed); the next finds a live
    connection, not the other dead one."""
    only_on_postgresql(own_engine)
    with kept_connection(own_engine) as one, kept_connection(own_engine) as two:
        pids = [c.execute(BACKEND).scalar_one() for c in (one, two)]
        one.commit()
        two.commit()
    admin_url = own_engine.url.set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(admin_url.split("?")[0], autocommit=True) as admin:
        for pid in pids:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))

    with pytest.raises(DatabaseUnavailable):
        unit(own_engine, BACKEND)

    assert unit(own_engine, BACKEND) not in pids
