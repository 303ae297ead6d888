"""Issue 12 §1 on the API: a JSON body the hub cannot read is `invalid_json`, a string or member
name holding a control character or a lone surrogate is `invalid_field` naming the member —
400s the portals can show, on SQLite and PostgreSQL, and nothing changes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.errors import InvalidJson
from hub.users.models import User
from idp.input_guard import MAX_JSON_DEPTH

ME = "/api/v1/me"
RENEW = "/api/v1/admin/accounts/renew"


@pytest.fixture
def alice(bearer):
    return bearer("alice.martin", "soltea")


def patch_me(client, headers, body: bytes):
    return client.patch(ME, data=body, content_type="application/json", headers=headers)


def last_name_of(session, username: str) -> str:
    session.rollback()
    return session.scalar(select(User.last_name).filter_by(username=username))


def assert_invalid_json(response) -> None:
    assert response.status_code == 400, response.text
    assert response.get_json() == {"error": "invalid_json", "message": InvalidJson.message}


def test_a_2_kb_body_of_nested_brackets_is_invalid_json(client, alice):
    """The issue's probe: 1,000 `[` then 1,000 `]` exhausted the parser's recursion (500)."""
    assert_invalid_json(patch_me(client, alice, b"[" * 1000 + b"]" * 1000))


def test_nesting_the_parser_survives_is_still_too_deep(client, alice):
    depth = MAX_JSON_DEPTH + 1
    body = b'{"last_name": ' + b"[" * depth + b"]" * depth + b"}"

    assert_invalid_json(patch_me(client, alice, body))


def test_nesting_within_the_limit_is_judged_by_the_api(client, alice):
    depth = MAX_JSON_DEPTH - 2
    body = b'{"last_name": ' + b"[" * depth + b"]" * depth + b"}"

    response = patch_me(client, alice, body)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_field"


@pytest.mark.parametrize(
    "body",
    [b'{"last_name": ', b'{"last_name": "\xff\xfe"}', b"9" * 5000, b"{'last_name': 'x'}"],
    ids=["truncated", "invalid-utf-8", "5000-digits", "single-quotes"],
)
def test_a_malformed_body_is_invalid_json(client, alice, body):
    assert_invalid_json(patch_me(client, alice, body))


@pytest.mark.parametrize(
    ("body", "member"),
    [
        (rb'{"last_name": "Martin\u0000"}', "last_name"),
        (rb'{"last_name": "\ud800"}', "last_name"),
        (rb'{"service": "a\u001b[2Jb"}', "service"),
        (rb'{"first_name": "Alice\u0085"}', "first_name"),
    ],
    ids=["nul", "lone-surrogate", "escape", "c1-control"],
)
def test_a_control_character_or_lone_surrogate_is_refused_by_member(
    client, session, alice, body, member
):
    response = patch_me(client, alice, body)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_field"
    assert response.get_json()["field"] == member
    assert last_name_of(session, "alice.martin") == "Martin"


def test_a_hostile_member_name_is_refused_without_being_echoed(client, alice):
    response = patch_me(client, alice, rb'{"\udfff\u0000": "x"}')

    assert response.status_code == 400
    assert response.get_json()["field"] == "body"


def test_a_control_character_deep_in_a_list_names_its_member(client, alice):
    response = client.post(
        RENEW, data=rb'{"ids": [1, ["\u0000"]]}', content_type="application/json", headers=alice
    )

    assert response.status_code == 400
    assert response.get_json()["field"] == "ids"


def test_line_breaks_in_json_strings_are_refused_too(client, session, alice):
    """No API field spans lines: names, addresses, phones and services are single-line."""
    response = patch_me(client, alice, rb'{"service": "Formation\nContinue"}')

    assert response.status_code == 400
    assert response.get_json()["field"] == "service"


def test_a_clean_body_still_goes_through(client, session, alice):
    response = patch_me(client, alice, '{"service": "Formation continue — Île-de-France"}'.encode())

    assert response.status_code == 200
    assert response.get_json()["service"] == "Formation continue — Île-de-France"
