"""`hub.database.is_disconnect`, the one list of errors that say PostgreSQL went away (the
request is answered 503 and retried, the workers pause): a restart, a crash, a refused or broken
connection — never an error of the statement itself, and never SQLite's."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
from psycopg import errors
from sqlalchemy.exc import DBAPIError, OperationalError

from hub.database import is_disconnect
from hub.errors import DatabaseUnavailable
from tests.fixtures.ports import HOST, closed_port


def raised_by_sqlalchemy(orig: Exception) -> DBAPIError:
    return OperationalError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    "orig",
    [
        errors.AdminShutdown("terminating connection due to administrator command"),
        errors.CrashShutdown("terminating connection because of crash of another process"),
        errors.CannotConnectNow("the database system is shutting down"),
        errors.ConnectionFailure("connection failure"),  # class 08
    ],
    ids=lambda error: error.sqlstate,
)
def test_postgresql_going_away_is_a_disconnect(orig):
    assert is_disconnect(raised_by_sqlalchemy(orig))


def test_a_refused_connection_is_a_disconnect():
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(host=HOST, port=closed_port(), dbname="hub", connect_timeout=2)

    assert refused.value.sqlstate is None  # no server answered: the connection's state tells
    assert is_disconnect(raised_by_sqlalchemy(refused.value))


def test_an_invalidated_connection_and_database_unavailable_are_disconnects():
    invalidated = raised_by_sqlalchemy(sqlite3.OperationalError("disk I/O error"))
    invalidated.connection_invalidated = True

    assert is_disconnect(invalidated)
    assert is_disconnect(DatabaseUnavailable())


@pytest.mark.parametrize(
    "orig",
    [
        errors.UniqueViolation("duplicate key value violates unique constraint"),
        errors.SerializationFailure("could not serialize access"),
        sqlite3.OperationalError("database is locked"),
    ],
    ids=["unique_violation", "serialization_failure", "sqlite_locked"],
)
def test_errors_of_the_statement_are_not_disconnects(orig):
    assert not is_disconnect(raised_by_sqlalchemy(orig))
    assert not is_disconnect(orig)
