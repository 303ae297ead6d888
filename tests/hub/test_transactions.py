"""The one transaction policy (`hub.transactions`, issue 13 §5): which database errors mean that
a transaction lost a race — told by the drivers' codes, observed here on real races between
two connections, on SQLite and on PostgreSQL — and what the unit of work and the retries do
with them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from hub.errors import ConcurrentChange, NotFound
from hub.transactions import ATTEMPTS, is_transient, retried, retrying, unit_of_work

WAIT_LIMIT = 30  # seconds; PostgreSQL finds a deadlock after `deadlock_timeout` (1 s)
BUMP = text("UPDATE transient_probe SET n = n + 1 WHERE id = :id")
READ = text("SELECT n FROM transient_probe WHERE id = 1")


@pytest.fixture
def probe(engine):
    """A table of the test's own, with rows 1 and 2, for two connections to race on."""
    with engine.begin() as connection:
        connection.execute(
            text("CREATE TABLE transient_probe (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
        )
        connection.execute(text("INSERT INTO transient_probe (id, n) VALUES (1, 0), (2, 0)"))
    yield engine
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE transient_probe"))


def only_on(engine, dialect: str) -> None:
    if engine.dialect.name != dialect:
        pytest.skip(f"a race that {dialect} alone has")


def lost_race(engine) -> DBAPIError:
    """The error of a transaction that read row 1, then writes it after another connection
    changed and committed it: SQLite's stale snapshot in WAL (SQLITE_BUSY_SNAPSHOT, « database
    is locked »), PostgreSQL's serialization failure under REPEATABLE READ (40001)."""
    with engine.connect() as late, engine.connect() as early:
        if engine.dialect.name == "postgresql":
            late.execution_options(isolation_level="REPEATABLE READ")
        late.execute(READ)  # its snapshot
        early.execute(BUMP, {"id": 1})
        early.commit()
        with pytest.raises(OperationalError) as caught:
            late.execute(BUMP, {"id": 1})
        late.rollback()
    return caught.value


def test_a_write_from_a_stale_snapshot_is_transient_on_both_databases(probe):
    error = lost_race(probe)

    assert is_transient(error)
    if probe.dialect.name == "sqlite":
        assert "database is locked" in str(error.orig)
        assert error.orig.sqlite_errorname == "SQLITE_BUSY_SNAPSHOT"
    else:
        assert "could not serialize" in str(error.orig)
        assert error.orig.sqlstate == "40001"


def test_sqlite_a_writer_held_off_by_another_is_transient(probe):
    """« database is locked » once `busy_timeout` (here none) has run out."""
    only_on(probe, "sqlite")
    with probe.connect() as holder, probe.connect() as waiter:
        holder.execute(BUMP, {"id": 1})  # holds SQLite's single writer lock
        waiter.exec_driver_sql("PRAGMA busy_timeout = 0")
        with pytest.raises(OperationalError) as caught:
            waiter.execute(BUMP, {"id": 2})
        waiter.rollback()
        holder.rollback()

    assert "database is locked" in str(caught.value.orig)
    assert caught.value.orig.sqlite_errorname == "SQLITE_BUSY"
    assert is_transient(caught.value)


def test_postgresql_a_deadlock_is_transient(probe):
    """Two transactions each hold the row the other wants: PostgreSQL aborts one (40P01)."""
    only_on(probe, "postgresql")
    both_hold_one = threading.Barrier(2, timeout=WAIT_LIMIT)

    def cross(first: int, second: int) -> DBAPIError | None:
        with probe.connect() as connection:
            connection.execute(BUMP, {"id": first})
            both_hold_one.wait()
            try:
                connection.execute(BUMP, {"id": second})
            except OperationalError as error:
                connection.rollback()
                return error
            connection.commit()
            return None

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = [pool.submit(cross, 1, 2), pool.submit(cross, 2, 1)]
        errors = [outcome.result(timeout=WAIT_LIMIT) for outcome in outcomes]

    (deadlock,) = [error for error in errors if error is not None]
    assert "deadlock detected" in str(deadlock.orig)
    assert deadlock.orig.sqlstate == "40P01"
    assert is_transient(deadlock)


def test_other_database_errors_are_not_transient(probe):
    with probe.connect() as connection:
        with pytest.raises(IntegrityError) as duplicate:
            connection.execute(text("INSERT INTO transient_probe (id, n) VALUES (1, 0)"))
        connection.rollback()
        with pytest.raises(DBAPIError) as unknown_table:
            connection.execute(text("SELECT * FROM no_such_table"))
        connection.rollback()

    assert not is_transient(duplicate.value)
    assert not is_transient(unknown_table.value)
    assert not is_transient(NotFound())
    assert is_transient(ConcurrentChange())


def test_the_unit_of_work_turns_a_lost_race_into_concurrent_change(probe, session_factory):
    race = lost_race(probe)

    def losing(session):
        raise race

    with (
        session_factory() as session,
        pytest.raises(ConcurrentChange) as caught,
        unit_of_work(session),
    ):
        losing(session)

    assert caught.value.__cause__ is race


def test_retrying_starts_over_after_a_lost_race_on_a_fresh_session(probe, session_factory):
    race = lost_race(probe)
    sessions = []

    def work(session):
        sessions.append(session)
        session.execute(BUMP, {"id": 2})
        if len(sessions) == 1:
            raise race
        return "done"

    assert retrying(session_factory, work) == "done"

    assert len(sessions) == 2
    assert sessions[0] is not sessions[1]
    with probe.connect() as connection:  # the first attempt's bump was rolled back
        assert connection.execute(text("SELECT n FROM transient_probe WHERE id = 2")).scalar() == 1


def test_retrying_gives_up_after_its_attempts_and_never_retries_the_rest(session_factory):
    calls = []

    def always_losing(session):
        calls.append(session)
        raise ConcurrentChange()

    def refusing(session):
        calls.append(session)
        raise NotFound()

    with pytest.raises(ConcurrentChange):
        retrying(session_factory, always_losing)
    assert len(calls) == ATTEMPTS

    calls.clear()
    with pytest.raises(NotFound):
        retrying(session_factory, refusing)
    assert len(calls) == 1


def test_retried_rolls_the_shared_session_back_between_attempts(probe, session_factory):
    race = lost_race(probe)
    attempts = []

    with session_factory() as session:

        def work():
            attempts.append(session.execute(READ).scalar())
            session.execute(BUMP, {"id": 1})
            if len(attempts) == 1:
                raise race
            session.commit()
            return "done"

        assert retried(work, session=session) == "done"

    assert attempts == [1, 1]  # the second attempt saw nothing of the first
