"""Transactions on the protocol's hot path, shaped for SQLite as well as PostgreSQL; the policy
itself (the unit of work, the transient errors, the retries) is `hub.transactions`'.

A request reads (client, session, code or token, accounts), then writes (code, tokens). Under
SQLite's WAL, a transaction that has read cannot start writing once another worker has
committed since its first read: SQLite fails it at once (SQLITE_BUSY_SNAPSHOT) rather than
waiting. So the reading transaction ends before the first write (`start_writing`), and the
writing one begins with a write, which waits for the lock and then sees the latest data. The
writes themselves are guarded (conditional updates), so nothing read earlier is trusted
blindly. On PostgreSQL the request is a single transaction. A request either completes its
change or changes nothing, and one that lost a race runs again (`answered`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hub.transactions import end_reading, retried, unit_of_work
from idp.extensions import db

R = TypeVar("R")


def start_writing() -> None:
    """On SQLite, ends the reading transaction (nothing is pending), so that the next
    statement, a write, opens the writing one (`hub.transactions.end_reading`).

    PostgreSQL needs no such turn: in READ COMMITTED each statement sees what was committed
    before it began, and writers wait for each other on the rows they share; the request stays
    one transaction, a COMMIT and a BEGIN — two round trips — fewer."""
    if db.session.get_bind().dialect.name == "sqlite":
        end_reading(db.session)


def answered(work: Callable[[], R]) -> R:
    """A protocol request as one unit of work, run again while it loses a race. Protocol errors
    are responses too, and some must persist what they did (a replayed code or refresh token
    revokes its grant): every answer commits; an exception changes nothing."""

    def once() -> R:
        with unit_of_work(db.session):
            return work()

    return retried(once, session=db.session)
