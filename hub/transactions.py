"""One transaction per request or command: the change completes, or nothing changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hub.audit.services import record_refusal
from hub.clock import utcnow
from hub.errors import ConcurrentChange, HubError, NotAllowed

T = TypeVar("T")


@contextmanager
def unit_of_work(session: Session, *, clock: Callable[[], datetime] = utcnow) -> Iterator[Session]:
    """Commits on success and rolls back on any error.

    A refusal still reaches the audit log: it is written in a transaction of its own after the
    rollback, so refusing never leaves part of a change behind and is never silent. A refusal
    that its service recorded as the outcome of an attempt (`HubError.recorded`: a throttle count
    and an audit event, nothing else) is committed, then raised. A database that could not
    serialise the change (SQLite busy, PostgreSQL deadlock) becomes `ConcurrentChange`, which
    callers may retry.
    """
    try:
        yield session
        session.commit()
    except HubError as error:
        if error.recorded:
            session.commit()
            raise
        session.rollback()
        if (
            isinstance(error, NotAllowed)
            and record_refusal(session, error, now=clock()) is not None
        ):
            session.commit()
        raise
        session.rollback()
        if record_refusal(session, error, now=clock()) is not None:
            session.commit()
        raise
    except OperationalError as error:
        session.rollback()
        if "locked" in str(error.orig) or "deadlock" in str(error.orig):
            raise ConcurrentChange() from error
        raise
    except BaseException:
        session.rollback()
        raise


def retrying(
    session_factory: Callable[[], Session],
    work: Callable[[Session], T],
    *,
    attempts: int = 3,
    clock: Callable[[], datetime] = utcnow,
) -> T:
    """Runs `work` in a unit of work on a fresh session, again when it loses a race.

    SQLite refuses a write from a transaction whose snapshot another writer has since changed
    (PostgreSQL waits on the row lock instead); starting over on fresh data is then correct, as
    every service re-reads what it changes.
    """
    for attempt in range(1, attempts + 1):
        with session_factory() as session:
            try:
                with unit_of_work(session, clock=clock):
                    return work(session)
            except ConcurrentChange:
                if attempt == attempts:
                    raise
    raise ValueError("attempts must be at least 1")
