"""A request id for every request: in the audit events the request writes, in the logs, and
echoed in `X-Request-Id` so a person reporting a problem can quote it. A caller's own id (a
portal forwarding its request's id) is kept when it is reasonable. The moment the request
began is kept beside it, for its duration in the metrics and the request log."""

from __future__ import annotations

import random
import re
import time
from typing import Any

from flask import Flask, Response, g, request

from hub.audit.services import enter_audit_context, leave_audit_context

HEADER = "X-Request-Id"
_ENVIRON_KEY = "HTTP_" + HEADER.upper().replace("-", "_")  # the header as WSGI passes it
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def request_id_of(environ: dict[str, Any]) -> str:
    """The caller's id when it is reasonable, else a new one. Unique, not secret: no system
    call for randomness (uuid4's) on every request."""
    given = environ.get(_ENVIRON_KEY, "")
    return given if _ACCEPTABLE.match(given) else f"{random.getrandbits(64):016x}"


def _begin() -> None:
    started = time.perf_counter()
    request_id = request_id_of(request.environ)
    context = g._get_current_object()  # one lookup through Flask's proxy, not three
    context.request_started = started
    context.request_id = request_id
    context.audit_token = enter_audit_context(request_id=request_id)


def _echo(response: Response) -> Response:
    response.headers[HEADER] = g.get("request_id", "")
    return response


def elapsed_seconds() -> float:
    """How long this request has run so far (0 when it was refused before it began)."""
    started = g.get("request_started")
    return 0.0 if started is None else time.perf_counter() - started


def _end(_error: BaseException | None) -> None:
    token = g.pop("audit_token", None)
    if token is not None:
        leave_audit_context(token)


def init_app(app: Flask) -> None:
    """`_begin` runs before every other `before_request` function, so that a request another
    one refuses still has its id and its start."""
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request(_echo)
    app.teardown_request(_end)
