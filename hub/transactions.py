"""The one transaction policy of the hub, its web app and its commands.

- One unit of work per request or service call (`unit_of_work`): the change completes, or
  nothing changes. Commits happen here and nowhere else (`end_reading` included).
- One list of transient errors (`is_transient`): the database errors that mean a transaction
  lost a race with another and may simply run again, read from the drivers' codes — SQLSTATE for
  PostgreSQL (psycopg), result codes for SQLite (sqlite3) — never from their messages.
- One retry policy (`ATTEMPTS`; `retrying` on fresh sessions, `retried` on a session that
  outlives the work, the web request's): start over on fresh data, which is correct because
  every service re-reads what it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from hub.audit.services import record_refusal
from hub.clock import utcnow
from hub.errors import ConcurrentChange, HubError, NotAllowed

T = TypeVar("T")

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
    try:
        yield session
        _commit(session)
    except HubError as error:
        if error.recorded:
            _commit(session)
            raise
        session.rollback()
        if isinstance(error, NotAllowed) and record_refusal(session, error, now=clock()):
            _commit(session)
        raise
    except BaseException as error:
        session.rollback()
        if is_transient(error):
            raise ConcurrentChange() from error
        raise


def _commit(session: Session) -> None:
    try:
        session.commit()
    except DBAPIError as error:
        session.rollback()
        if is_transient(error):
            raise ConcurrentChange() from error
        raise


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


def retried(work: Callable[[], T], *, session: Session, attempts: int = ATTEMPTS) -> T:
    """Runs `work` again while it loses a race, rolling `session` back in between: the web
    request's way, whose session outlives the work. `work` opens its own units of work, or
    commits as its protocol requires (`idp.oidc.transactions`)."""
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
