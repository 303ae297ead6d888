"""One transaction per request or command: the change completes, or nothing changes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from hub.audit.services import record_refusal
from hub.clock import utcnow
from hub.errors import ConcurrentChange, NotAllowed


@contextmanager
def unit_of_work(session: Session, *, clock: Callable[[], datetime] = utcnow) -> Iterator[Session]:
    """Commits on success and rolls back on any error.

    A refusal still reaches the audit log: it is written in a transaction of its own after the
    rollback, so refusing never leaves part of a change behind and is never silent. A database
    that could not serialise the change (SQLite busy, PostgreSQL deadlock) becomes
    `ConcurrentChange`, which callers may retry.
    """
    try:
        yield session
        session.commit()
    except NotAllowed as error:
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
