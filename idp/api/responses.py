"""JSON answers of the API: domain errors become `{"error", "message", "field"?}` with the
error's HTTP status, so portals can show the French message next to the right field."""

from __future__ import annotations

from flask import Response, jsonify

from hub.errors import HubError, InvalidField


def problem(error: HubError) -> tuple[Response, int]:
    body = {"error": error.code, "message": error.message}
    if isinstance(error, InvalidField):
        body["field"] = error.field
    return jsonify(body), error.status
