"""The hub's logs as a log collector reads them, on standard error: one line per request
answered, and Python's log events. `HUB_LOG_FORMAT=json` makes every line a JSON object, each
with the request id when it happens in a request (`idp.request_ids`); in the default text mode
a request line reads like a web server's access log and the events are left as Python and the
web server set them up.

A request line says which endpoint answered what, and how fast, never what was sent: the path
without its query string (OAuth codes, `state` and sign-in hints travel there) and with a
single-use link's token hidden, no header, no cookie, no form field. The person's address is
`request.remote_addr`, which ProxyFix corrects behind a trusted proxy (`HUB_TRUSTED_PROXIES`).
The app writes these lines itself, in both modes, so `hub run` turns the web server's own access
log off: the web server knows neither the endpoint nor which part of a path is a secret.

Request lines go straight to standard error, one write per line under a lock, not through
`logging`: a record, its formatter and its handler cost about 60 µs of a request's CPU on the
protocol's hot path, the direct write about 13 µs (measured in the flow, issue 17). Log events
keep `logging`, where their levels and handlers matter. The app factory runs many times in one
process (tests): `configure` sets the root logger to the mode asked, with at most one JSON
handler, whatever was there before.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from flask import Flask, Request, Response, current_app, g, has_request_context, request

from idp.request_ids import elapsed_seconds

EXTENSION = "hub.log_format"
REQUEST_LOGGER = "hub.requests"  # the `logger` of a JSON request line
JSON = "json"
TEXT_TIME = "%Y-%m-%d %H:%M:%S %z"
# Path parts that are secrets: the single-use links' tokens (registration, e-mail change,
# invitation), shown as `HIDDEN` in the request line.
SECRET_PATH_ARGUMENTS = frozenset({"token"})
HIDDEN = "[hidden]"
PATH_MAX = 200


class JsonFormatter(logging.Formatter):
    """One JSON object per record: timestamp (ISO 8601, UTC), level, logger, message, the
    request id inside a request, the exception's text when there is one, and the fields a
    record carries under `extra={"fields": {...}}`."""

    def format(self, record: logging.LogRecord) -> str:
        line = _json_head(
            datetime.fromtimestamp(record.created, UTC),
            record.levelname,
            record.name,
            record.getMessage(),
            g.get("request_id") if has_request_context() else None,
        )
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def _json_head(
    moment: datetime, level: str, logger: str, message: str, request_id: str | None
) -> dict[str, Any]:
    """What every JSON line starts with, a log event's or a request's."""
    line: dict[str, Any] = {
        "timestamp": moment.isoformat(timespec="milliseconds"),
        "level": level,
        "logger": logger,
        "message": message,
    }
    if request_id:
        line["request_id"] = request_id
    return line


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record comes (pytest swaps it per test)."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        """StreamHandler sets it in `__init__`; the property always answers `sys.stderr`."""


class _JsonHandler(_StandardError):
    """The one handler JSON mode puts on the root logger (found again by its type)."""

    def __init__(self, previous_level: int) -> None:
        super().__init__()
        self.previous_level = previous_level
        self.setFormatter(JsonFormatter())


def configure(log_format: str) -> None:
    """The root logger in the mode asked: in JSON mode one `_JsonHandler` and level INFO;
    otherwise none of ours, the level as it was before."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if isinstance(h, _JsonHandler)]
    if log_format == JSON:
        if not ours:
            root.addHandler(_JsonHandler(root.level))
            root.setLevel(logging.INFO)
        return
    for handler in ours:
        root.removeHandler(handler)
        root.setLevel(handler.previous_level)


@dataclass(frozen=True)
class RequestLine:
    """What a request line says of a request answered."""

    method: str
    path: str  # shown as it is: without its query string, its secrets hidden
    protocol: str
    status: int
    seconds: float
    remote_addr: str | None
    endpoint: str | None
    request_id: str


def write_request_line(line: RequestLine, log_format: str) -> None:
    """The request's line, in the mode asked: the keys of a JSON log event, or an access log's
    line with the request id. Also for the answers made without Flask's request cycle
    (`idp.oidc.fast_path`)."""
    if log_format == JSON:
        fields = _json_head(datetime.now(UTC), "INFO", REQUEST_LOGGER, "request", line.request_id)
        fields |= {
            "method": line.method,
            "path": line.path,
            "status": line.status,
            "duration_ms": round(line.seconds * 1000, 1),
            "remote_addr": line.remote_addr,
            "endpoint": line.endpoint,
        }
        _write(json.dumps(fields, ensure_ascii=False) + "\n")
        return
    _write(
        f"[{time.strftime(TEXT_TIME)}] {line.remote_addr} - "
        f'"{line.method} {line.path} {line.protocol}" '
        f"{line.status} {line.seconds * 1000:.3f} {line.request_id}\n"
    )


def _request_line(response: Response) -> Response:
    """`after_request`: the request's line. The request is looked up once (each lookup through
    Flask's proxy costs about a microsecond)."""
    current = request._get_current_object()
    environ = current.environ
    line = RequestLine(
        method=current.method,
        path=_shown_path(current),
        protocol=environ.get("SERVER_PROTOCOL", ""),
        status=response.status_code,
        seconds=elapsed_seconds(),
        remote_addr=current.remote_addr,
        endpoint=current.endpoint,
        request_id=g.get("request_id", ""),
    )
    write_request_line(line, log_format_of(current_app))
    return response


_writing = threading.Lock()


def _write(line: str) -> None:
    """One whole line, whatever `sys.stderr` is when it comes (pytest swaps it per test)."""
    with _writing:
        sys.stderr.write(line)
        sys.stderr.flush()


def _shown_path(current: Request) -> str:
    path = current.path
    for name, value in (current.view_args or {}).items():
        if name in SECRET_PATH_ARGUMENTS and value:
            path = path.replace(str(value), HIDDEN)
    return path[:PATH_MAX]


def init_app(app: Flask, log_format: str) -> None:
    configure(log_format)
    app.extensions[EXTENSION] = log_format
    if log_format == JSON:
        from flask.logging import default_handler

        app.logger.removeHandler(default_handler)  # records go up to the root's JSON handler
    app.after_request(_request_line)


def log_format_of(app: Flask) -> str:
    return app.extensions[EXTENSION]
