"""Transactions on the protocol's hot path, shaped for SQLite as well as PostgreSQL; the policy
itself (the unit of work, the transient errors, the retries) is `hub.transactions`'.

A request reads (client, session, code or token, accounts), then writes (code, tokens). Under
SQLite's WAL, a transaction that has read cannot start writing once another worker has
committed since its first read: SQLite fails it at once (SQLITE_BUSY_SNAPSHOT) rather than
waiting. So the request's transaction begins at its first write (`begin_at_first_write`): the
reads before it hold no snapshot, and the write waits for the lock, then sees the latest data.
The writes themselves are guarded (conditional updates), so nothing read earlier is trusted
blindly. PostgreSQL does the same, which spares its round trips: in READ COMMITTED a statement
inside a transaction sees no more than one outside it. The write a successful request ends on
— the code, the tokens — is most often its only one: it then commits by itself, without BEGIN
or COMMIT (`sole_write`, `hub.database.SOLE_WRITE`). Either way a request either completes its
change or changes nothing, and one that lost a race runs again (`answered`).

The unit of work runs on a connection of its own (`hub.transactions.on_connection`), kept
between units (`hub.kept_connections`): the hot path's statements take it (`connection()`),
and what uses the ORM (`db.session`: a refusal's audit event, a cache's reload) joins its
transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.engine import Connection

from hub.database import joined_connection
from hub.transactions import again_while_transient, on_connection
from idp.extensions import db

R = TypeVar("R")


def answered(work: Callable[[], R]) -> R:
    """A protocol request as one unit of work, run again while it loses a race. Protocol errors
    are responses too, and some must persist what they did (a replayed code or refresh token
    revokes its grant): every answer commits; an exception changes nothing."""

    def once() -> R:
        with on_connection(db.engine, db.session, begin_at_first_write=True):
            return work()

    return again_while_transient(once)


def connection() -> Connection:
    """The connection of the protocol request running now (`answered`)."""
    current = joined_connection()
    if current is None:
        raise RuntimeError("outside a protocol request's unit of work (answered)")
    return current
