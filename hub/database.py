"""Engine, sessions and the declarative base shared by every model.

One code path for SQLite (the zero-set-up default) and PostgreSQL (production, several
instances). SQLite is put in WAL mode with foreign keys on, and its driver's implicit
transaction handling is replaced by explicit BEGINs so that reads belong to the transaction that
follows them, as they do on PostgreSQL — except where a unit of work asks for its BEGIN at its
first write (`BEGIN_AT_FIRST_WRITE`: the protocol's hot path, whose writes are guarded), on
either database; there a write that is the unit's only one may commit by itself
(`SOLE_WRITE`). `is_disconnect` says when PostgreSQL went away.

Statements run through an ORM session or, on the protocol's hot path, straight on a Core
connection (`Executor`): a unit of work on a connection (`hub.transactions.on_connection`)
skips the session's own bookkeeping, which cost about 70 µs a request there, and a session used
inside it joins that connection's transaction (`joined_connection`, which the web app's session
answers from `get_bind`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    false,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, registry, sessionmaker
from sqlalchemy.types import TypeDecorator

from hub.errors import DatabaseUnavailable

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# PostgreSQL: SQLSTATE class 08, connection_exception (08000, 08003 connection_does_not_exist,
# 08006 connection_failure, 08001, 08004…), and the server's own going away: 57P01
# admin_shutdown (« terminating connection due to administrator command », a restart), 57P02
# crash_shutdown, 57P03 cannot_connect_now (starting up, shutting down).
POSTGRESQL_DISCONNECT_CLASS = "08"
POSTGRESQL_DISCONNECT = frozenset({"57P01", "57P02", "57P03"})

# An execution option of a connection (`hub.transactions.on_connection`'s
# `begin_at_first_write`): the transaction begins right before its first write, a statement
# that is not a plain SELECT (`_BEGIN_PENDING` in the connection's `info` until then); the reads
# before it run each on its own (on PostgreSQL, in the driver's autocommit mode: no BEGIN sent).
# A write run while `SOLE_WRITE` is in the connection's `info` (`hub.compiled`: the unit's only
# write, said so by its caller) begins nothing: it commits by itself, one statement, and then
# the connection may write nothing more in that unit (`_SOLE_WRITTEN`, checked here) — so a
# unit whose success writes one row costs no BEGIN and no COMMIT, two round trips on PostgreSQL.
BEGIN_AT_FIRST_WRITE = "hub_begin_at_first_write"
SOLE_WRITE = "hub.sole_write"
_BEGIN_PENDING = "hub.begin_pending"
_SOLE_WRITTEN = "hub.sole_written"

# In a connection's `info`: its current transaction ran a write (an INSERT, UPDATE or DELETE).
# What must not replay a request whose commit may have happened reads it when the transaction
# commits (`idp.web.database_wait`).
WROTE = "hub.wrote"

BigId = BigInteger().with_variant(Integer(), "sqlite")

# Where a statement runs: a session's transaction, or a connection's.
Executor = Session | Connection

# The connection of the unit of work running in this thread (`hub.transactions.on_connection`).
_JOINED: ContextVar[Connection | None] = ContextVar("hub_joined_connection", default=None)


def joined_connection() -> Connection | None:
    """The connection whose transaction a session used now must join, if any: a session's
    `get_bind` answers it (`idp.extensions.HubSession`), so that ORM work inside a unit of
    work on a connection is part of its transaction rather than another one."""
    return _JOINED.get()


@contextmanager
def joined(connection: Connection) -> Iterator[Connection]:
    """While it runs, a session used in this thread joins `connection`'s transaction."""
    token = _JOINED.set(connection)
    try:
        yield connection
    finally:
        _JOINED.reset(token)


def dialect_of(executor: Executor) -> Dialect:
    if isinstance(executor, Connection):
        return executor.dialect
    return executor.get_bind().dialect


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = _in_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    # On SQLite, one function each way instead of this type's step and SQLite's DATETIME's (its
    # text, microseconds always written; parsed by `fromisoformat`): every statement of the hot
    # path carries several datetimes, and the two steps cost twice as much.
    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_text

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _sqlite_datetime


def _in_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:  # the hub's own clock's (`hub.clock`): nothing to convert
        return value
    if value.tzinfo is None:
        raise ValueError("naive datetime given; the hub stores aware UTC datetimes only")
    return value.astimezone(UTC)


def _sqlite_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return _in_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def _sqlite_datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


def str_enum(enum_class: type[StrEnum], *, length: int = 32) -> Enum:
    """A `StrEnum` column kept as its values in a VARCHAR, checked by the database."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=True,
        length=length,
        validate_strings=True,
        name=enum_class.__name__.lower(),
        values_callable=lambda members: [m.value for m in members],
    )


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime(), str: String(255)},
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if not _begins_at_first_write(connection):
            _begin_sqlite(connection)


def _begin_sqlite(connection: Any) -> None:
    # On the driver's cursor: through SQLAlchemy's execution, BEGIN cost 40 µs.
    connection.connection.cursor().execute("BEGIN")


def _configure_postgresql(engine: Engine) -> None:
    """BEGIN at the first write: psycopg in autocommit until then (it sends BEGIN itself before
    the first statement once autocommit is off); autocommit off again when the connection goes
    back to the pool."""

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if _begins_at_first_write(connection):
            connection.connection.dbapi_connection.autocommit = True

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None and dbapi_connection.autocommit:
            dbapi_connection.autocommit = False


def _begin_postgresql(connection: Any) -> None:
    connection.connection.dbapi_connection.autocommit = False


def _begins_at_first_write(connection: Any) -> bool:
    """Called as a transaction begins: whether its BEGIN waits for its first write."""
    info = connection.info
    info.pop(_SOLE_WRITTEN, None)
    if connection.get_execution_options().get(BEGIN_AT_FIRST_WRITE):
        info[_BEGIN_PENDING] = True
        return True
    info.pop(_BEGIN_PENDING, None)
    return False


def _begin_at_first_write(engine: Engine, begin: Callable[[Any], None]) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _on_statement(
        connection: Any, _cursor: Any, statement: str, _parameters: Any, _context: Any, _many: bool
    ) -> None:
        info = connection.info
        pending, sole_written = info.get(_BEGIN_PENDING), info.get(_SOLE_WRITTEN)
        if not (pending or sole_written) or not _writes(statement):
            return
        if sole_written:
            raise RuntimeError("a write after the unit's sole write, which committed alone")
        if not info.get(SOLE_WRITE):
            del info[_BEGIN_PENDING]
            begin(connection)


def _writes(statement: str) -> bool:
    """Not a plain SELECT: a write, or a read that locks rows for the writes that follow."""
    return statement.lstrip()[:6].upper() != "SELECT" or "FOR UPDATE" in statement


def sole_write_done(connection: Connection, changed: bool) -> None:
    """`hub.compiled`, after running a write as the unit's sole write: from now on, if it
    changed a row (and so committed), the unit may not write again."""
    info = connection.info
    del info[SOLE_WRITE]
    if changed and info.get(_BEGIN_PENDING):
        info[_SOLE_WRITTEN] = True


def _watch_writes(engine: Engine) -> None:
    """Marks a connection whose current transaction wrote (`WROTE`)."""

    @event.listens_for(engine, "begin")
    def _nothing_written_yet(connection: Any) -> None:
        connection.info.pop(WROTE, None)

    @event.listens_for(engine, "after_cursor_execute")
    def _wrote(
        connection: Any, _cursor: Any, _statement: str, _parameters: Any, context: Any, _many: bool
    ) -> None:
        if context is not None and (context.isinsert or context.isupdate or context.isdelete):
            connection.info[WROTE] = True


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for `url`, SQLite tuned as described in the module docstring."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, **options)
        _configure_sqlite(engine)
        _begin_at_first_write(engine, _begin_sqlite)
        _watch_writes(engine)
        return engine
    # No `pool_pre_ping`: a connection the database dropped (a restart) fails on its first
    # statement, SQLAlchemy then invalidates it and every older connection of the pool, and the
    # work is run again on a fresh one (the web request whole: `idp.web.database_wait`; the
    # workers' next pass: `hub.polling`), rather than paying a round trip at every checkout.
    engine = create_engine(url, **options)
    if parsed.get_backend_name() == "postgresql":
        _configure_postgresql(engine)
        _begin_at_first_write(engine, _begin_postgresql)
    _watch_writes(engine)
    return engine


def is_disconnect(error: BaseException) -> bool:
    """Whether `error` says that the database went away — the transaction it interrupted
    is lost, and no statement can run until a new connection is made: `DatabaseUnavailable`,
    or a database error that SQLAlchemy found had invalidated its connection
    (`connection_invalidated`, from the driver's own `broken` state), that carries one of the
    codes above, or that psycopg raised while connecting (its connection in the BAD state:
    refused, timed out). SQLite, a file, never goes away.

    psycopg is looked up, not imported: no error can be psycopg's before SQLAlchemy loaded it
    for a PostgreSQL engine, and a web worker on SQLite need not load the driver at all."""
    if isinstance(error, DatabaseUnavailable):
        return True
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    psycopg = sys.modules.get("psycopg")
    if psycopg is None or not isinstance(error.orig, psycopg.Error):
        return False
    sqlstate = error.orig.sqlstate
    if sqlstate is not None:
        return sqlstate in POSTGRESQL_DISCONNECT or sqlstate[:2] == POSTGRESQL_DISCONNECT_CLASS
    pgconn = error.orig.pgconn
    return pgconn is not None and pgconn.status == psycopg.pq.ConnStatus.BAD


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


# An INSERT with `on_conflict_do_…`, by dialect: both databases have it, each in its own.
UPSERT_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def upsert_insert(executor: Executor, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with `on_conflict_do_…` in the executor's dialect (`UPSERT_INSERTS`)."""
    return UPSERT_INSERTS[dialect_of(executor).name](table)


def lock_rows(session: Session, table: Table, row_ids: Collection[int]) -> None:
    """Serialises writers that must see each other's effect on these rows or their dependants.

    PostgreSQL takes row locks (`FOR UPDATE`, in id order so that two lockers never deadlock)
    that later writers wait for. SQLite has a single writer lock: a no-op UPDATE takes it for the
    rest of the transaction. When the database cannot give the lock (SQLite's snapshot went
    stale, a PostgreSQL deadlock), its error is transient (`hub.transactions.is_transient`): the
    unit of work turns it into `ConcurrentChange`, which is safe to retry.
    """
    ids = sorted(set(row_ids))
    if not ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update()
        )
    else:
        session.execute(update(table).where(table.c.id.in_(ids)).values(id=table.c.id))


def lock_row(session: Session, table: Table, row_id: int) -> None:
    lock_rows(session, table, (row_id,))


def queue_behind_writers(session: Session, table: Table) -> None:
    """Makes a transaction that will read, then write `table` wait for a concurrent writer
    rather than fail against it. Call it first, before anything is read.

    SQLite refuses at once a write from a transaction that has read while another writer held
    the lock, so the single writer lock is taken up front by an UPDATE of no row. PostgreSQL
    needs nothing: its writers wait for each other on the rows (or unique keys) they share.
    """
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(update(table).where(false()).values(id=table.c.id))
