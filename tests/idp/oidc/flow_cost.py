"""What one request of the protocol's hot path costs the hub, counted rather than timed: the
statements it sends to the database, its transactions, its round trips to a PostgreSQL server,
and (for the benchmark, never asserted) the CPU it takes in this process.

Shared by the statement budget test (`test_hot_path.py`), whose counts are deterministic, and by
the benchmark (`tests/bench/test_oidc_bench.py`), which prints them beside the load figures so
that a cost per flow can be read as a number of statements and round trips.

Round trips are counted on PostgreSQL only, where each is a wait for the server over the
network: every statement, and the BEGIN, COMMIT and ROLLBACK psycopg sends for each transaction
(read from the driver's own state at SQLAlchemy's `commit` and `rollback` events). libpq's own
trace of the same flows agreed when they counted 8 and 4 (16 and 8 exchanges), once psycopg had
prepared its statements (the fifth run of each adds one exchange to prepare it). On SQLite, a
file in this process, nothing is a network round trip: its figure is the statements'.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session as OrmSession

from tests.idp.oidc.conftest import Portal

SCOPE = "openid profile email"  # what the benchmark's driver asks for


@dataclass
class Cost:
    """What the requests made while one `Meter.measuring()` block ran cost the hub."""

    statements: list[str] = field(default_factory=list)
    begins: int = 0
    commits: int = 0
    rollbacks: int = 0
    flushes: int = 0  # of the ORM's unit of work, that had something to write
    cpu_ms: float = 0.0
    by_endpoint: dict[str, float] = field(default_factory=dict)  # CPU ms per Flask endpoint

    @property
    def transactions(self) -> int:
        return self.begins

    def round_trips(self, dialect: str) -> int:
        """Waits for the database server; SQLite (in-process) has none: its statements."""
        if dialect != "postgresql":
            return len(self.statements)
        return len(self.statements) + self.begins + self.commits + self.rollbacks


class Meter:
    """Counts, on the app's engine, what the requests made inside `measuring()` cost."""

    def __init__(self, app: Flask) -> None:
        from idp.extensions import db

        self.app = app
        with app.app_context():
            self.engine: Engine = db.engine
        self.dialect = self.engine.dialect.name
        self._current: Cost | None = None
        self._adapter = app.url_map.bind("localhost")

    @contextmanager
    def measuring(self) -> Iterator[Cost]:
        cost = Cost()
        listeners = [
            ("before_cursor_execute", self._on_statement),
            ("commit", self._on_commit),
            ("rollback", self._on_rollback),
        ]
        self._current = cost
        for name, listener in listeners:
            event.listen(self.engine, name, listener)
        event.listen(OrmSession, "after_flush", self._on_flush)
        try:
            yield cost
        finally:
            for name, listener in listeners:
                event.remove(self.engine, name, listener)
            event.remove(OrmSession, "after_flush", self._on_flush)
            self._current = None

    def request(self, client: Any, method: str, path: str, **options: Any) -> Any:
        """`client.<method>(path, ...)`, its CPU added to the current cost under its endpoint."""
        endpoint = self._endpoint(method, path)
        start = time.process_time()
        response = getattr(client, method.lower())(path, **options)
        spent = (time.process_time() - start) * 1000
        if self._current is not None:
            self._current.cpu_ms += spent
            by = self._current.by_endpoint
            by[endpoint] = by.get(endpoint, 0.0) + spent
        return response

    def _endpoint(self, method: str, path: str) -> str:
        endpoint, _args = self._adapter.match(path.split("?", 1)[0], method=method.upper())
        return endpoint

    def _on_statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if self._current is None:
            return
        if statement.strip().upper() == "BEGIN":  # SQLite: ours, see hub.database
            return
        self._current.statements.append(statement)

    def _on_flush(self, *_args: Any) -> None:
        if self._current is not None:
            self._current.flushes += 1

    # A transaction counts when the driver has one open as it ends: a unit of work begun at its
    # first write that wrote nothing, or whose sole write committed by itself
    # (`hub.database.SOLE_WRITE`), sends no BEGIN and no COMMIT though SQLAlchemy's events fire.
    def _on_commit(self, conn: Any) -> None:
        if self._current is not None and _driver_in_transaction(conn):
            self._current.begins += 1
            self._current.commits += 1

    def _on_rollback(self, conn: Any) -> None:
        if self._current is not None and _driver_in_transaction(conn):
            self._current.begins += 1
            self._current.rollbacks += 1


def _driver_in_transaction(conn: Any) -> bool:
    """Whether the driver's connection has a transaction open (sqlite3's `in_transaction`,
    psycopg's transaction status), which its COMMIT or ROLLBACK then ends."""
    driver = conn.connection.dbapi_connection
    if conn.dialect.name == "sqlite":
        return driver.in_transaction
    return driver.info.transaction_status != 0  # psycopg.pq.TransactionStatus.IDLE


class MeteredPortal(Portal):
    """SOLTÉA as the benchmark's driver plays it (scope, PKCE, HTTP Basic), every request it
    and the person's browser make counted by `meter`."""

    def __init__(self, meter: Meter, browser: Any, backend: Any) -> None:
        super().__init__("soltea", browser, backend, scope=SCOPE)
        self.meter = meter

    def authorize(self, authorization=None, **overrides):
        authorization = authorization or self.authorization(**overrides)
        return self.meter.request(self.browser, "GET", authorization.url), authorization

    def exchange(self, code: str, verifier: str | None, /, **data: str) -> Any:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if verifier is not None:
            form["code_verifier"] = verifier
        form.update(data)
        return self.meter.request(self.backend, "POST", "/token", data=form, headers=self.auth)

    def refresh(self, refresh_token: str, **data: str) -> Any:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **data}
        return self.meter.request(self.backend, "POST", "/token", data=form, headers=self.auth)

    def sso_flow(self) -> dict[str, Any]:
        """Authorize with the person's session → code → token; the token response."""
        code, authorization = self.code()
        response = self.exchange(code, authorization.verifier)
        assert response.status_code == 200, response.text
        return response.get_json()

    def refresh_grant(self, refresh_token: str) -> str:
        """One rotating refresh grant; the new refresh token."""
        response = self.refresh(refresh_token)
        assert response.status_code == 200, response.text
        return response.get_json()["refresh_token"]
