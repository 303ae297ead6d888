"""The OpenAPI document of `/api/v1` is valid, served without a token, and true: the answers of
the other API tests are checked against it (`contract.py`), and schemathesis fuzzes every
operation of it against the app in-process, with a real admin's token — no 5xx, every status and
body as documented, invalid input refused."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_core.validation.response.exceptions import InvalidData
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from idp.api.openapi import DOCUMENT
from tests.idp.api.contract import check_against_document

FUZZ_EXAMPLES = 15  # per operation and mode: the whole document in well under a minute
# Data that fits the document may still be refused by a rule (an email that is no address, a
# name with digits): `positive_data_acceptance` would call that a failure, so it is left out.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def test_the_document_is_a_valid_openapi_3_1_document():
    validate(DOCUMENT)


def test_the_document_is_served_without_a_token(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert response.get_json() == DOCUMENT
    assert set(response.get_json()["paths"]) >= {
        "/me",
        "/me/accounts",
        "/admin/scope",
        "/admin/structures/{matricule}/portals/{portal_code}/accounts",
        "/admin/accounts/renew",
        "/admin/accounts/{account_id}",
        "/admin/structures/{matricule}/history",
    }


def test_the_contract_check_catches_an_answer_that_drifts_from_the_document(app, bearer):
    """The oracle itself: an answer missing a documented member is refused."""
    headers = bearer("alice.martin")
    client = app.test_client()
    response = client.get("/api/v1/admin/scope", headers=headers)
    body = response.get_json()
    del body["portals"][0]["via"]
    response.set_data(json.dumps(body))

    with pytest.raises(InvalidData):
        check_against_document(response)


# Data that fits the document is sent to Alpha on Certificateurs, which alice manages from
# SOLTÉA: random matricules would only ever meet « not found ».
DEMO_PATH = {"matricule": "100001", "portal_code": "certificateurs"}
OPERATIONS = [(path, method) for path, item in DOCUMENT["paths"].items() for method in item]


@pytest.fixture
def admin_headers(bearer):
    return bearer("alice.martin", "soltea")


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_fuzzing_finds_no_5xx_and_no_undocumented_answer(app, admin_headers, path, method, mode):
    """Every operation, with data that fits the document and data that does not, as alice on
    SOLTÉA: the admin operations are reached, not only refused."""
    operation = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)[path][method]
    known = {name: value for name, value in DEMO_PATH.items() if "{" + name + "}" in path}
    if mode is GenerationMode.POSITIVE and known:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=known)
    else:
        strategy = operation.as_strategy(generation_mode=mode)

    @given(case=strategy)
    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case):
        case.call_and_validate(headers=admin_headers, checks=CHECKS)

    call()
