"""The OpenAPI document as a test oracle: every answer of `/api/v1` that a test observes is
checked against it (openapi-core), so the document cannot drift from what the API does.

A documented operation must answer a documented status with a body of the documented schema;
answers outside any documented operation (an unknown path, a method the API lacks) are left to
the tests that expect them.
"""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound, PathNotFound

from idp.api.openapi import DOCUMENT

API = "/api/v1/"
SPEC = OpenAPI.from_dict(DOCUMENT)


class AnsweredRequest(WerkzeugOpenAPIRequest):
    """The request as its answer remembers it: its body was read by the app, and only the
    answer is checked here (tests send bad requests on purpose)."""

    @property
    def body(self) -> bytes | None:
        return None


def check_against_document(response: Any) -> None:
    """Raises when `response` (a Flask test response) breaks the OpenAPI document."""
    request = AnsweredRequest(response.request)
    try:
        SPEC.validate_response(request, WerkzeugOpenAPIResponse(response))
    except (PathNotFound, OperationNotFound):
        return


class ContractCheckedClient(FlaskClient):
    """Flask's test client, with each API answer checked against the OpenAPI document."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        response = super().open(*args, **kwargs)
        if response.request.path.startswith(API):
            check_against_document(response)
        return response
