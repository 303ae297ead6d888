"""The one transaction policy of the hub, its web app and its commands.

- One unit of work per request or service call (`unit_of_work`, or `on_connection` for the
  protocol's hot path): the change completes, or nothing changes. Commits happen here and
  nowhere else (`end_reading` included).
- One list of transient errors (`is_transient`): the database errors that mean a transaction
  lost a race with another and may simply run again, read from the drivers' codes — SQLSTATE for
  PostgreSQL (psycopg), result codes for SQLite (sqlite3) — never from their messages.
- One retry policy (`ATTEMPTS`; `retrying` on fresh sessions, `retried` on a session that
  outlives the work, the web request's, `again_while_transient` for work that opens its own
  unit of work on a connection): start over on fresh data, which is correct because every
  service re-reads what it changes.
- One list of disconnections (`hub.database.is_disconnect`, where the infrastructure below the
  areas can read it too): the errors that mean the database went away (restarted,
  unreachable), again from the driver's codes and state, never from messages. The
  unit of work turns them into `DatabaseUnavailable`. They are not retried here: a transaction
  that lost its connection may have been part of a larger piece of work (a web request's
  several transactions), so the caller that owns the whole retries it whole, and only when it
  committed nothing — the web app waits and replays the request (`idp.web.database_wait`),
  the background workers pause and poll again (`hub.polling`). One exception: a write that
  records what already happened outside the database (a mail the server took) waits for the
  database to come back (`waiting_for_database`), for losing it would do that again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from threading import Event
from typing import Protocol, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from hub.audit.services import record_refusal
from hub.clock import utcnow
from hub.database import is_disconnect, joined
from hub.errors import ConcurrentChange, DatabaseUnavailable, HubError, NotAllowed
from hub.kept_connections import kept_connection

T = TypeVar("T")
log = logging.getLogger("hub.database")

ATTEMPTS = 5
# PostgreSQL: SQLSTATE class 40, transaction rollback — 40001 serialization_failure (« could not
# serialize access… »), 40P01 deadlock_detected.
POSTGRESQL_TRANSIENT = frozenset({"40001", "40P01"})
# SQLite: the primary result codes SQLITE_BUSY (5, « database is locked »: another connection
# held the lock beyond busy_timeout, or — SQLITE_BUSY_SNAPSHOT — a transaction that has read may
# not write since another committed) and SQLITE_LOCKED (6, « database table is locked »).
SQLITE_TRANSIENT = frozenset({5, 6})


def is_transient(error: BaseException) -> bool:
    """Whether `error` says that the transaction lost a race and may run again on fresh data:
    `ConcurrentChange`, or a database error with one of the codes above."""
    if isinstance(error, ConcurrentChange):
        return True
    if not isinstance(error, DBAPIError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)  # psycopg
    if sqlstate is not None:
        return sqlstate in POSTGRESQL_TRANSIENT
    code = getattr(error.orig, "sqlite_errorcode", None)  # sqlite3, its extended code
    return code is not None and code & 0xFF in SQLITE_TRANSIENT


@contextmanager
def unit_of_work(session: Session, *, clock: Callable[[], datetime] = utcnow) -> Iterator[Session]:
    """Commits on success and rolls back on any error.

    A refusal still reaches the audit log: it is written in a transaction of its own after the
    rollback, so refusing never leaves part of a change behind and is never silent. A refusal
    that its service recorded as the outcome of an attempt (`HubError.recorded`: a throttle count
    and an audit event, nothing else) is committed, then raised. A transaction that lost a race
    (`is_transient`) becomes `ConcurrentChange`, which callers may retry.
    """
    with _policy(session, session, clock=clock):
        yield session


@contextmanager
def on_connection(
    engine: Engine,
    session: scoped_session[Session],
    *,
    begin_at_first_write: bool = False,
    clock: Callable[[], datetime] = utcnow,
) -> Iterator[Connection]:
    """`unit_of_work`, on a connection of its own: for the protocol's hot path, whose
    statements run on the connection (`hub.compiled`) and would pay the session's bookkeeping
    (begin, commit, the pool's checkout as the session does it) for nothing. `session` — used
    inside for what the ORM does (an audit event, a refusal's record) — joins the connection's
    transaction (`hub.database.joined`): its `get_bind` must answer `joined_connection()`.

    With `begin_at_first_write`, the unit runs on a connection kept between units
    (`hub.kept_connections`), and the BEGIN is sent right before the first statement that is not
    a SELECT (`hub.database.BEGIN_AT_FIRST_WRITE`), and a write its caller says is the unit's
    only one commits by itself (`hub.compiled`'s `sole_write`). For units of work whose writes
    are guarded — conditional updates that do not trust what was read. On SQLite the reads
    before the first write hold no snapshot, so the write waits for the lock instead of failing
    (SQLITE_BUSY_SNAPSHOT); on PostgreSQL they read what they would have read inside the
    transaction (in READ COMMITTED each statement sees what was committed before it), without
    the round trips of a BEGIN and a COMMIT.
    """
    if _in_transaction(session):  # what the request did before is not part of this unit
        session.commit()
    connecting = kept_connection(engine) if begin_at_first_write else engine.connect()
    with (
        connecting as connection,
        joined(connection),
        _policy(_ConnectionEnds(connection, session), session, clock=clock),
    ):
        yield connection


class _Ends(Protocol):
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


@dataclass(frozen=True)
class _ConnectionEnds:
    """How a unit of work on a connection ends: the joined session's changes flushed (its own
    commit, which leaves the connection's transaction to its owner), then the connection's."""

    connection: Connection
    session: scoped_session[Session]

    def commit(self) -> None:
        if _in_transaction(self.session):
            self.session.commit()
        self.connection.commit()

    def rollback(self) -> None:
        if _in_transaction(self.session):
            self.session.rollback()
        self.connection.rollback()


def _in_transaction(session: scoped_session[Session]) -> bool:
    """Without making the session: on the hot path none is used, and none is made."""
    return session.registry.has() and session().in_transaction()


@contextmanager
def _policy(
    ends: _Ends, session: Session | scoped_session[Session], *, clock: Callable[[], datetime]
) -> Iterator[None]:
    """`unit_of_work`'s, whatever the transaction ends on (see there)."""
    try:
        yield
        _commit(ends)
    except HubError as error:
        if error.recorded:
            _commit(ends)
            raise
        ends.rollback()
        if isinstance(error, NotAllowed) and record_refusal(session, error, now=clock()):
            _commit(ends)
        raise
    except BaseException as error:
        ends.rollback()
        _raise_as_policy_error(error)
        raise


def _commit(ends: _Ends) -> None:
    try:
        ends.commit()
    except DBAPIError as error:
        ends.rollback()
        _raise_as_policy_error(error)
        raise


def _raise_as_policy_error(error: BaseException) -> None:
    if is_transient(error):
        raise ConcurrentChange() from error
    if is_disconnect(error) and not isinstance(error, DatabaseUnavailable):
        raise DatabaseUnavailable() from error


def end_reading(session: Session) -> None:
    """Ends a transaction that has only read (it holds no change), so that what follows opens
    a new one: before the first write of a request, and before slow work.

    Under SQLite's WAL, a transaction that has read cannot start writing once another connection
    has committed since its first read: SQLite refuses at once (SQLITE_BUSY_SNAPSHOT) rather
    than wait for the lock. So the reading transaction ends before the first write, and the
    writing one begins with a write, which waits for the lock and then sees the latest data
    (PostgreSQL needs none of this and loses nothing by it). Slow work — a password hash — runs
    outside any transaction, so that no snapshot or lock is held for its length.
    """
    session.commit()


def retrying(
    session_factory: Callable[[], Session],
    work: Callable[[Session], T],
    *,
    attempts: int = ATTEMPTS,
    clock: Callable[[], datetime] = utcnow,
) -> T:
    """Runs `work` in a unit of work on a fresh session, again while it loses a race: the
    commands' and the workers' way.

    SQLite refuses a write from a transaction whose snapshot another writer has since changed
    (PostgreSQL waits on the row lock instead, or detects a deadlock); starting over on fresh
    data is then correct, as every service re-reads what it changes.
    """

    def once() -> T:
        with session_factory() as session, unit_of_work(session, clock=clock):
            return work(session)

    return _again_while_transient(once, attempts=attempts, rollback=None)


def again_while_transient(work: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """Runs `work` again while it loses a race: for work that opens its own unit of work
    (`on_connection`), so that nothing is left to roll back in between."""
    return _again_while_transient(work, attempts=attempts, rollback=None)


def retried(work: Callable[[], T], *, session: Session, attempts: int = ATTEMPTS) -> T:
    """Runs `work` again while it loses a race, rolling `session` back in between: the web
    request's way, whose session outlives the work. `work` opens its own units of work, or
    commits as its protocol requires."""
    return _again_while_transient(work, attempts=attempts, rollback=session.rollback)


def _again_while_transient(
    work: Callable[[], T], *, attempts: int, rollback: Callable[[], None] | None
) -> T:
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as error:
            if rollback is not None:
                rollback()
            if not is_transient(error) or attempt == attempts:
                raise
    raise AssertionError("unreachable")


RECONNECT_PAUSE = 1.0  # seconds between two tries while the database is away


def waiting_for_database(
    work: Callable[[], T], *, seconds: float, stop: Event | None = None, what: str = "work"
) -> T:
    """Runs `work` again while the database is away, for at most `seconds` (or until `stop`
    is set), then raises the last error: for the writes that record what was done outside the
    database — a mail the SMTP server took, a logout token a portal accepted — which are lost
    otherwise, and that outside work done again once its lease is over.

    `work` must be idempotent (one UPDATE setting values, in its own transaction): a
    connection lost during its COMMIT leaves its outcome unknown, and it runs again. `seconds`
    stays below the lease of what it records, so that no other sender takes it meanwhile."""
    deadline = time.monotonic() + seconds
    waited = False
    while True:
        try:
            done = work()
        except Exception as error:
            out_of_time = time.monotonic() + RECONNECT_PAUSE > deadline
            if not is_disconnect(error) or out_of_time or (stop and stop.is_set()):
                raise
            if not waited:
                log.warning("the database is unavailable; %s waits for it", what)
                waited = True
            if stop is not None:
                stop.wait(RECONNECT_PAUSE)
            else:
                time.sleep(RECONNECT_PAUSE)
            continue
        if waited:
            log.info("the database is back; %s done", what)
        return done
