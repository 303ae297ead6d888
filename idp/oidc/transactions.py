"""Transactions on the protocol's hot path, shaped for SQLite as well as PostgreSQL.

A request reads (client, session, code or token, accounts), then writes (code, tokens). Under
SQLite's WAL, a transaction that has read cannot start writing once another worker has
committed since its first read: SQLite fails it at once (SQLITE_BUSY_SNAPSHOT) rather than
waiting. So the reading transaction ends before the first write (`start_writing`), and the
writing one begins with a write, which waits for the lock and then sees the latest data. The
writes themselves are guarded (conditional updates), so nothing read earlier is trusted
blindly. A request either completes its change or changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Response
from sqlalchemy.exc import OperationalError

from idp.extensions import db

ATTEMPTS = 5
TRANSIENT_DATABASE_ERRORS = ("database is locked", "deadlock detected", "could not serialize")


def start_writing() -> None:
    """Ends the reading transaction (nothing is pending), so the next statement, a write,
    opens the writing one."""
    db.session.commit()


def committed(response: Response) -> Response:
    """Protocol errors are responses too, and some must persist what they did (a replayed
    code or refresh token revokes its grant): every answer commits."""
    db.session.commit()
    return response


def retrying(work: Callable[[], Response]) -> Response:
    """Runs the request's work again when the database could not serialise it (SQLite: a rare
    write after a read, on the error paths; PostgreSQL: a deadlock). Nothing was written, so
    starting over on fresh data is correct."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return work()
        except OperationalError as error:
            db.session.rollback()
            transient = any(text in str(error.orig) for text in TRANSIENT_DATABASE_ERRORS)
            if not transient or attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")
