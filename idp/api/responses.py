"""The API's answer to a domain error: `{"error", "message", "field"?}` with the error's HTTP
status, so that portals can show the French message next to the right field. Views raise;
`idp.errors` answers every `HubError` that reaches it on `/api/…` with `problem`."""

from __future__ import annotations

from flask import Response, jsonify

from hub.errors import HubError, InvalidField


def problem(error: HubError) -> Response:
    body = {"error": error.code, "message": error.message}
    if isinstance(error, InvalidField):
        body["field"] = error.field
    response = jsonify(body)
    response.status_code = error.status
    return response
