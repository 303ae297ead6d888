"""Waiting for a database that went away (issue 16): a request caught by a PostgreSQL restart
is answered once the database is back, rather than with an error.

Where: the whole request, at the WSGI level (`DatabaseWait`, around Flask's own `wsgi_app`).
A lost connection may surface anywhere — the browser session read before any view, a unit of
work in the middle, Authlib's grant — and what ran before it may have depended on reads of the
lost transaction. Running the whole request again, in a fresh request context (`g`, the
session, the CSRF check, the input guard, all anew), is correct for every endpoint without any
of them knowing; retrying one transaction inside the request would not be.

When: only a request answered `DatabaseUnavailable` (`idp.web.errors.answer_unavailable`
marks it) that asked the database to commit no change. Engine events mark the attempt as soon
as a transaction that wrote (an INSERT, UPDATE or DELETE ran) asks to commit: before the
COMMIT is sent, because a connection lost during the COMMIT leaves its outcome unknown. Such a
request is answered 503 at once, for replaying it could do its change twice (a code consumed
twice, a mail queued twice). A request that only read, or whose writes died uncommitted with
the connection (PostgreSQL rolls them back), changed nothing: replaying it is what the client
would do a moment later, only sooner.

How long: `Settings.database_wait_seconds`, with short growing pauses between attempts; past
that, the last attempt's answer goes out — 503 with `Retry-After`, in the caller's form.

The body: the server's input stream can be read once, so it is read here into memory first,
bounded by `MAX_CONTENT_LENGTH`, and each attempt reads its own copy. A body announced larger
is left to Werkzeug, which refuses it with 413, in a single attempt.

Hence no `pool_pre_ping` (`hub.database`): after a restart every pooled connection is dead;
the first statement on one fails, SQLAlchemy invalidates it and every other connection the pool
made before it, and the request is replayed on a fresh connection. Each process pays one
failed attempt per restart instead of a ping at every checkout.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from hub.database import SOLE_WRITE, WROTE

log = logging.getLogger("hub.database")

FIRST_PAUSE = 0.1  # seconds between the first two attempts, doubling
LONGEST_PAUSE = 1.0

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass
class Attempt:
    """What one run of a request did to the database."""

    committed: bool = False  # a transaction that wrote asked to commit
    unavailable: bool = False  # answered `DatabaseUnavailable`

    @property
    def may_replay(self) -> bool:
        return self.unavailable and not self.committed


# The attempt running in this thread: set by `DatabaseWait` around each run of the app, read
# by the engine's events and by the answer to `DatabaseUnavailable`, inside Flask's request
# cycle or not (`idp.oidc.fast_path`).
_ATTEMPT: ContextVar[Attempt | None] = ContextVar("hub.database_wait", default=None)


def current_attempt() -> Attempt | None:
    return _ATTEMPT.get()


def note_unavailable() -> None:
    """Called by the answer to `DatabaseUnavailable`: the request may be run again, once the
    database is back, if it committed nothing."""
    attempt = current_attempt()
    if attempt is not None:
        attempt.unavailable = True


class _HeldResponse:
    """The `start_response` of one attempt: passed on, unless the attempt is to be replayed,
    in which case its answer is dropped (Flask starts the response only once it is built)."""

    def __init__(self, start_response: StartResponse, attempt: Attempt, *, last: bool) -> None:
        self.start_response = start_response
        self.attempt = attempt
        self.last = last
        self.dropped = False

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if not self.last and self.attempt.may_replay:
            self.dropped = True
            return lambda _data: None
        return self.start_response(status, headers, exc_info)


class DatabaseWait:
    """WSGI middleware: runs a request again while the database is away (see the module's
    docstring), for at most `wait_seconds`."""

    def __init__(self, app: WsgiApp, *, wait_seconds: float, max_body: int | None) -> None:
        self.app = app
        self.wait_seconds = wait_seconds
        self.max_body = max_body

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        body = _buffered_body(environ, self.max_body)
        if body is None:
            return self.app(environ, start_response)
        started = time.monotonic()
        deadline = started + self.wait_seconds
        pause = FIRST_PAUSE
        while True:
            attempt = Attempt()
            attempt_environ = {**environ, "wsgi.input": io.BytesIO(body)}
            held = _HeldResponse(start_response, attempt, last=time.monotonic() + pause >= deadline)
            running = _ATTEMPT.set(attempt)
            try:
                answer = self.app(attempt_environ, held)
            finally:
                _ATTEMPT.reset(running)
            if not held.dropped:
                if attempt.unavailable:  # one line per request, the answer says the rest
                    log.warning(
                        "%s %s: the database is unavailable; answered 503 after %.1f s%s",
                        environ.get("REQUEST_METHOD"),
                        environ.get("PATH_INFO"),
                        time.monotonic() - started,
                        " (a change was committed: not run again)" if attempt.committed else "",
                    )
                return answer
            close = getattr(answer, "close", None)
            if close is not None:
                close()
            time.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)


def _buffered_body(environ: dict[str, Any], limit: int | None) -> bytes | None:
    """The request's body, read whole; None when it cannot be kept (no limit, or announced
    larger than it), and the request then runs once, on the server's stream."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if limit is None:
        return None
    announced = environ.get("CONTENT_LENGTH")
    if announced:
        try:
            length = int(announced)
        except ValueError:
            return None
        if not 0 <= length <= limit:
            return None
        return _read(stream, length)
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    if chunked and environ.get("wsgi.input_terminated"):  # read to its end, one byte past the
        return _read(stream, limit + 1)  # limit: Werkzeug refuses more than the limit with 413
    return b""  # no body announced (a GET): nothing to read


def _read(stream: Any, length: int) -> bytes:
    chunks: list[bytes] = []
    left = length
    while left > 0:
        chunk = stream.read(min(left, 64 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _watch_commits(engine: Engine) -> None:
    """Marks the current request's attempt when a transaction that wrote (`hub.database.WROTE`)
    asks to commit."""

    # An invalidated connection is skipped: reading its `info` would connect again, and its
    # `info` is cleared with it anyway.
    @event.listens_for(engine, "commit")
    def _committing(connection: Connection) -> None:
        if not connection.invalidated and connection.info.get(WROTE, False):
            _mark_committed()

    # A unit's sole write commits by itself (`hub.database.SOLE_WRITE`): its statement is its
    # COMMIT, whose outcome a lost connection leaves unknown.
    @event.listens_for(engine, "before_cursor_execute")
    def _committing_alone(connection: Connection, *_: Any) -> None:
        if connection.info.get(SOLE_WRITE, False):
            _mark_committed()


def _mark_committed() -> None:
    attempt = current_attempt()
    if attempt is not None:
        attempt.committed = True


def init_app(app: Flask, *, wait_seconds: float) -> None:
    from idp.extensions import db

    with app.app_context():
        _watch_commits(db.engine)
    app.wsgi_app = DatabaseWait(  # type: ignore[method-assign]
        app.wsgi_app, wait_seconds=wait_seconds, max_body=app.config.get("MAX_CONTENT_LENGTH")
    )
