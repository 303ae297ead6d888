"""The portal's database: SQLite in the instance folder by default, PostgreSQL when several
instances share it. Tables are created at start; the schema is the kit's, small and additive."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError

from portals.kit.models import metadata

log = logging.getLogger("portals.kit.database")


def make_engine(url: str) -> Engine:
    """SQLite waits for the writer lock instead of failing at once, and uses WAL so that
    readers (every page view) never wait for a writer (a sign-in, a refresh)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    return engine


SCHEMA_LOCK_KEY = 0x504F5254  # "PORT": one PostgreSQL advisory lock for every portal process


@contextmanager
def schema_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction in which no other process of the portal changes the schema: gunicorn starts
    its workers together, and each creates the tables (and Certificateurs migrates its own) on
    a database they share. PostgreSQL: an advisory lock held until the transaction ends;
    SQLite, whose workers share a machine: a file lock next to the database (its own writer
    lock is not held between the check for a table and its CREATE)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY}
                )
            yield connection
        return
    lock_path = Path(database).with_name(Path(database).name + ".schema.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            with engine.begin() as connection:
                yield connection
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create_tables(engine: Engine) -> None:
    """Creates missing tables, one process at a time (`schema_lock`)."""
    with schema_lock(engine) as connection:
        metadata.create_all(connection)


def database_answers(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError:
        return False
    return True
