"""The portal's database: SQLite in the instance folder by default, PostgreSQL when several
instances share it. Tables are created at start; the schema is the kit's, small and additive."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

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


def create_tables(engine: Engine) -> None:
    """Creates missing tables. Gunicorn workers start together: when another one created a
    table between our check and our CREATE, the second attempt finds it there."""
    for attempt in (1, 2):
        try:
            metadata.create_all(engine)
            return
        except (OperationalError, ProgrammingError):
            if attempt == 2:
                raise
            log.info("tables created concurrently by another worker; checking again")


def database_answers(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError:
        return False
    return True
