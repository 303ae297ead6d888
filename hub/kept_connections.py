"""Connections kept between the protocol's units of work (`hub.transactions.on_connection`),
rather than checked out of SQLAlchemy's pool and back for each: a checkout builds a new
`Connection`, sets its options and runs the pool's bookkeeping both ways, which cost about a
tenth of a sign-on's CPU served (issue 17: 1.82–1.90 → 1.64–1.68 ms per SSO flow on SQLite,
1.82–1.90 being the same code checking out a connection per unit, measured that day).

A kept connection is idle: its last unit committed or rolled back, so it holds no transaction,
no snapshot, no lock — what SQLAlchemy's pool guarantees by rolling back at check-in. Each unit
takes one (`kept_connection`) and gives it back when it ends, to be kept again unless it
cannot serve another unit as it is:
- it was invalidated (the database went away under it) or left in a transaction: it is closed,
  back to the pool, which makes or resets it;
- `KEPT` are idle already (a burst of concurrent units): it goes back to the pool.

Why not, on SQLite, one connection per process that the units take in turn — so that no
connection empties its page cache because another of the process wrote (SQLite cannot tell
which pages changed), and no thread sleeps in SQLite's busy handler waiting for the other's
write lock: measured served by two web processes, it saves nothing (1.50 against 1.53 ms of CPU
per SSO flow over 6 alternations, 1.54 against 1.57 over 4; issue 17) — the other process's
writes still empty the cache at nearly every transaction — and a unit would wait behind a slow
one of its process.

Those kept for an engine are closed when the database goes away (an error SQLAlchemy judges a
disconnect, on any of the engine's connections: the others died with it, as the pool then
assumes of its own), and when the engine is disposed (at a test's end). They
begin their transactions at their first write (`hub.database.BEGIN_AT_FIRST_WRITE`), which
is the protocol's units' choice; a unit that wants its BEGIN at once uses the pool directly.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from hub.database import BEGIN_AT_FIRST_WRITE

KEPT = 4  # idle connections kept per engine: a web worker runs two requests at once

_kept: WeakKeyDictionary[Engine, list[Connection]] = WeakKeyDictionary()
_registering = threading.Lock()


@contextmanager
def kept_connection(engine: Engine) -> Iterator[Connection]:
    """An idle connection of `engine`'s, kept again after use when it can serve another unit
    (see the module's docstring)."""
    kept = _kept.get(engine)
    if kept is None:
        kept = _keep_for(engine)
    connection = _taken(kept) or _new(engine)
    try:
        yield connection
    finally:
        if connection.invalidated or connection.in_transaction() or len(kept) >= KEPT:
            connection.close()
        else:
            kept.append(connection)


def _taken(kept: list[Connection]) -> Connection | None:
    """An idle connection from `kept` (list operations are atomic: no lock)."""
    try:
        return kept.pop()
    except IndexError:
        return None


def _new(engine: Engine) -> Connection:
    connection = engine.connect()
    connection.execution_options(**{BEGIN_AT_FIRST_WRITE: True})
    return connection


def _keep_for(engine: Engine) -> list[Connection]:
    """The list of `engine`'s kept connections, and the events that close them."""
    with _registering:
        kept = _kept.get(engine)
        if kept is not None:
            return kept
        kept = _kept[engine] = []

        @event.listens_for(engine, "handle_error")
        def _on_error(context: Any) -> None:
            if context.is_disconnect:
                _close_all(kept)

        @event.listens_for(engine, "engine_disposed")
        def _on_dispose(_engine: Engine) -> None:
            _close_all(kept)

        return kept


def _close_all(kept: list[Connection]) -> None:
    """Closes the idle connections of `kept`, their DBAPI connections at once (`invalidate`):
    after a disconnect they are dead, after a disposal their pool is gone."""
    while (connection := _taken(kept)) is not None:
        connection.invalidate()
        connection.close()
