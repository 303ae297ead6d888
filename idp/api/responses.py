"""JSON answers of the API: domain errors become `{"error", "message", "field"?}` with the
error's HTTP status, so portals can show the French message next to the right field."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, jsonify

from hub.errors import HubError, InvalidField


def problem(error: HubError) -> tuple[Response, int]:
    body = {"error": error.code, "message": error.message}
    if isinstance(error, InvalidField):
        body["field"] = error.field
    return jsonify(body), error.status


def answers_problems(view: Callable[..., Any]) -> Callable[..., Any]:
    """Lets a view raise domain errors: each becomes its `problem` answer."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except HubError as error:
            return problem(error)

    return wrapper
