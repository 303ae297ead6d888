"""The protocol's hot-path statements, compiled once per dialect and run on the driver's cursor.

SQLAlchemy's execution of a statement already compiled and cached — execution context, events,
result object — costs 40–50 µs of CPU on SQLite and about 115 µs with psycopg, where the
driver itself takes 4 µs and 33 µs for the same indexed look-up (measured, issue 17), and a
sign-on runs four or five of them. So the few statements that every sign-on and refresh runs
go to the cursor directly, everything else staying as it was:

- the Core construct remains the statement's one definition: SQLAlchemy compiles it, once per
  dialect, and its types' own processors convert the values both ways (`UTCDateTime`,
  SQLite's booleans and datetimes);
- the statement runs in the current transaction of the session (`session.connection()`:
  SQLAlchemy began it) or of the Core connection it is given (begun here if it was not): the
  unit of work commits or rolls it back;
- a driver error goes through SQLAlchemy's own handling: wrapped in its `DBAPIError`, a
  dropped connection invalidated with the pool, so that the transaction policy reads it as it
  reads every other (`hub.transactions.is_transient`, `hub.database.is_disconnect`);
- the engine's cursor events still fire (what counts statements sees these too), and a write
  marks its transaction as having written (`hub.database.WROTE`).
"""

from __future__ import annotations

import copy
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Insert, Select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import Compiled

from hub.database import SOLE_WRITE, WROTE, Executor, sole_write_done

Processor = Callable[[Any], Any]

_KEPT_CURSOR = "hub.compiled.cursor"


@dataclass(frozen=True)
class _ForDialect:
    """A statement as one dialect runs it."""

    compiled: Compiled
    sql: str
    positions: tuple[str, ...] | None  # the parameters' order, for a positional paramstyle
    bind_processors: Mapping[str, Processor]
    result_processors: tuple[tuple[int, Processor], ...]
    writes: bool


class CompiledStatement:
    """A Core statement run on the driver's cursor (see the module docstring).

    An INSERT of values is compiled, as SQLAlchemy does, for the columns its parameters name,
    and no other column of its table may need a value from Python (a default that SQLAlchemy's
    execution would have computed): that is checked when it is compiled."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._by_columns = isinstance(statement, Insert) and statement.select is None
        self.row_type: type[tuple[Any, ...]] | None = None
        if isinstance(statement, Select):
            self.row_type = namedtuple("Row", statement.selected_columns.keys())  # type: ignore[misc]
        self._compiled: dict[tuple[str, tuple[str, ...] | None], _ForDialect] = {}

    def first(
        self, executor: Executor, params: Mapping[str, Any], *, sole_write: bool = False
    ) -> Any | None:
        """The first row (a named tuple for a SELECT, the raw tuple for a RETURNING), or None.
        `sole_write`: see `execute`."""
        connection, cursor, compiled = self._run(executor, params, sole_write)
        try:
            values = cursor.fetchone()
        finally:
            _done(connection, cursor)
        if values is None:
            return None
        if self.row_type is None:
            return values
        if compiled.result_processors:
            values = list(values)
            for index, process in compiled.result_processors:
                values[index] = process(values[index])
        return self.row_type(*values)

    def execute(
        self, executor: Executor, params: Mapping[str, Any], *, sole_write: bool = False
    ) -> int:
        """Runs the statement; the number of rows it changed. With `sole_write` (the caller
        knows that if this write changes a row, the unit of work writes nothing else), a write
        that comes first in a unit begun at its first write commits by itself
        (`hub.database.SOLE_WRITE`); anywhere else it is part of the transaction as usual."""
        connection, cursor, _compiled = self._run(executor, params, sole_write)
        try:
            return cursor.rowcount
        finally:
            _done(connection, cursor)

    def _run(
        self, executor: Executor, params: Mapping[str, Any], sole_write: bool = False
    ) -> tuple[Connection, Any, _ForDialect]:
        if isinstance(executor, Connection):
            connection = executor
            if not connection.in_transaction():
                connection.begin()
        else:
            connection = executor.connection()
        compiled = self._for(connection.dialect, tuple(params) if self._by_columns else None)
        values = compiled.compiled.construct_params(params)
        for name, process in compiled.bind_processors.items():
            if name in values:
                values[name] = process(values[name])
        parameters: Any = values
        if compiled.positions is not None:
            parameters = tuple(values[name] for name in compiled.positions)
        cursor = _cursor(connection)
        dispatch = connection.dispatch
        sql = compiled.sql
        sole_write = sole_write and compiled.writes
        if sole_write:
            connection.info[SOLE_WRITE] = True
        changed = False
        try:
            for before in dispatch.before_cursor_execute:
                before(connection, cursor, sql, parameters, None, False)
            cursor.execute(sql, parameters)
            changed = cursor.rowcount != 0
        except Exception as error:
            connection.info.pop(_KEPT_CURSOR, None)
            cursor.close()
            if isinstance(error, connection.dialect.loaded_dbapi.Error):
                # SQLAlchemy's own handling: its DBAPIError, a disconnect invalidating the pool.
                connection._handle_dbapi_exception(error, sql, parameters, None, None)
            raise
        finally:
            if sole_write and not connection.invalidated:
                sole_write_done(connection, changed=changed)
        if compiled.writes:
            connection.info[WROTE] = True
        for after in dispatch.after_cursor_execute:
            after(connection, cursor, sql, parameters, None, False)
        return connection, cursor, compiled

    def _for(self, dialect: Dialect, columns: tuple[str, ...] | None) -> _ForDialect:
        key = (dialect.name, columns)
        found = self._compiled.get(key)
        if found is None:
            if columns is not None:
                _check_insert(self.statement, columns)  # type: ignore[arg-type]
            found = self._compiled[key] = self._compile(dialect, columns)
        return found

    def _compile(self, dialect: Dialect, columns: tuple[str, ...] | None) -> _ForDialect:
        compiled = self.statement.compile(dialect=_positional(dialect), column_keys=columns)
        bind_processors = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                bind_processors[name] = process
        result_processors: list[tuple[int, Processor]] = []
        if isinstance(self.statement, Select):
            for index, column in enumerate(self.statement.selected_columns):
                process = column.type.dialect_impl(dialect).result_processor(dialect, None)
                if process is not None:
                    result_processors.append((index, process))
        positions = compiled.positiontup  # type: ignore[attr-defined]
        return _ForDialect(
            compiled,
            str(compiled),
            tuple(positions) if positions is not None else None,
            bind_processors,
            tuple(result_processors),
            writes=compiled.isinsert or compiled.isupdate or compiled.isdelete,  # type: ignore[attr-defined]
        )


def _cursor(connection: Connection) -> Any:
    """A cursor on the connection's DBAPI connection. psycopg's is kept in the connection's
    `info` and serves each statement in turn: making and closing one costs about a quarter of
    the driver's CPU for an indexed look-up (measured, issue 17: 30 of 110 µs). It holds its
    rows in memory and nothing on the server, the next statement replaces them, and a
    connection serves one thread at a time; SQLAlchemy clears `info` when it replaces the DBAPI
    connection. sqlite3's costs under a microsecond and holds its statement open (and with it a
    read snapshot) until it is closed: one per statement."""
    if connection.dialect.driver != "psycopg":
        return connection.connection.cursor()
    info = connection.info
    cursor = info.get(_KEPT_CURSOR)
    if cursor is None:
        cursor = info[_KEPT_CURSOR] = connection.connection.cursor()
    return cursor


def _done(connection: Connection, cursor: Any) -> None:
    """Closes a statement's cursor unless it is the connection's kept one (`_cursor`)."""
    if connection.info.get(_KEPT_CURSOR) is not cursor:
        cursor.close()


def _positional(dialect: Dialect) -> Dialect:
    """The dialect as it writes positional parameters (`%s`) where it writes named ones
    (psycopg's `%(name)s`): the driver then maps no names to positions at each execution
    (15 µs a statement with psycopg, measured)."""
    if dialect.positional or dialect.paramstyle != "pyformat":
        return dialect
    variant = copy.copy(dialect)
    variant.paramstyle = "format"
    variant.positional = True
    return variant


def _check_insert(statement: Insert, columns: tuple[str, ...]) -> None:
    table = statement.table
    for column in table.columns:  # type: ignore[attr-defined]
        if column.key in columns or column.primary_key:
            continue
        if column.default is not None or column.onupdate is not None:
            raise ValueError(
                f"{table}.{column.key} needs a value from Python; the INSERT must name it"
            )
