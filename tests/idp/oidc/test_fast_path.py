"""The protocol's fast path (`idp.oidc.fast_path`) answers a portal's plain requests as the full
path (Flask, Authlib) answers them, and hands every other request to the full path.

Two hubs on one database: one as it runs (the fast path on), one with `FAST_PATH = False`.
The same person, signed in on each, goes through the same sign-on and refresh with the same
portal; what the portal observes — statuses, headers, the redirect's parameters, the token
response, the ID token's header and claims — and what the hub stores must match. Which path
answered is read from Flask's `request_started` signal: the full path sends it, the fast path
does not.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask, request_started
from prometheus_client import REGISTRY
from sqlalchemy import select

from hub.audit.models import AuditEvent
from hub.oidc.models import AuthorizationCode, OAuthToken
from hub.oidc.secrets import digest
from hub.users.models import User
from idp import create_app
from tests.idp.oidc.conftest import Portal, basic

VARYING_HEADERS = {"X-Request-Id", "Location"}  # per request; Location is compared by parameter
TOKEN_VALUES = {"access_token", "refresh_token", "id_token"}
PER_TOKEN_CLAIMS = {"at_hash", "sid"}  # of the access token, of the sign-in session


@pytest.fixture
def full_app(settings, app) -> Iterator[Flask]:
    """The hub without its fast path, on the same database as `app`."""
    full = create_app(settings, TESTING=True, FAST_PATH=False)
    yield full
    with full.app_context():
        from idp.extensions import db

        db.engine.dispose()


def full_path_requests(app: Flask) -> list[str]:
    """The paths of the requests that `app`'s full path (Flask's request cycle) answers."""
    seen: list[str] = []

    def started(sender: Flask, **_: Any) -> None:
        from flask import request

        seen.append(request.path)

    request_started.connect(started, app, weak=False)
    return seen


@pytest.fixture
def portals(app, full_app, demo, sign_in_as) -> tuple[Portal, Portal]:
    """SOLTÉA through each hub, alice signed in at both (two sessions)."""
    fast_browser, full_browser = app.test_client(), full_app.test_client()
    sign_in_as(fast_browser, "alice.martin")
    sign_in_as(full_browser, "alice.martin")
    fast = Portal("soltea", fast_browser, app.test_client())
    full = Portal("soltea", full_browser, full_app.test_client())
    return fast, full


def headers_of(response: Any) -> dict[str, str]:
    return {name: value for name, value in response.headers if name not in VARYING_HEADERS}


def claims_of(id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, claims, _signature = (
        json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        for part in [*id_token.split(".")[:2], "e30"]
    )
    return header, claims


def same_answer(fast: Any, full: Any) -> None:
    assert fast.status_code == full.status_code, (fast.text, full.text)
    assert headers_of(fast) == headers_of(full)
    assert fast.headers["X-Request-Id"]


def same_tokens(fast: dict[str, Any], full: dict[str, Any]) -> None:
    assert list(fast) == list(full)  # the members, in Authlib's order
    assert {k: v for k, v in fast.items() if k not in TOKEN_VALUES} == {
        k: v for k, v in full.items() if k not in TOKEN_VALUES
    }
    assert fast["access_token"] != full["access_token"]


def test_a_plain_sign_on_and_refresh_are_answered_by_the_fast_path_as_by_the_full_path(
    app, full_app, portals, session
):
    fast = portals[0]
    fast_seen, full_seen = full_path_requests(app), full_path_requests(full_app)
    authorizations = [portal.authorization() for portal in portals]
    for authorization in authorizations[1:]:  # the same request, but its secrets
        authorization.params["state"] = authorizations[0].params["state"]
        authorization.params["nonce"] = authorizations[0].params["nonce"]

    answers = [portal.browser.get(a.url) for portal, a in zip(portals, authorizations, strict=True)]

    same_answer(*answers)
    assert answers[0].status_code == 302
    redirects = [urlsplit(answer.headers["Location"]) for answer in answers]
    assert redirects[0]._replace(query="") == redirects[1]._replace(query="")
    fast_query, full_query = (parse_qsl(redirect.query) for redirect in redirects)
    assert [name for name, _ in fast_query] == [name for name, _ in full_query]
    assert dict(fast_query).keys() == {"code", "state", "iss"}
    assert {**dict(fast_query), "code": ""} == {**dict(full_query), "code": ""}

    codes = [dict(query)["code"] for query in (fast_query, full_query)]
    exchanges = [
        portal.exchange(code, authorization.verifier)
        for portal, code, authorization in zip(portals, codes, authorizations, strict=True)
    ]

    same_answer(*exchanges)
    assert exchanges[0].status_code == 200, exchanges[0].text
    issued = [exchange.get_json() for exchange in exchanges]
    same_tokens(*issued)
    (fast_header, fast_claims), (full_header, full_claims) = (
        claims_of(tokens["id_token"]) for tokens in issued
    )
    assert fast_header == full_header
    assert list(fast_claims) == list(full_claims)
    assert {k: v for k, v in fast_claims.items() if k not in PER_TOKEN_CLAIMS} == {
        k: v for k, v in full_claims.items() if k not in PER_TOKEN_CLAIMS
    }

    refreshed = [
        portal.refresh(tokens["refresh_token"])
        for portal, tokens in zip(portals, issued, strict=True)
    ]

    same_answer(*refreshed)
    assert refreshed[0].status_code == 200, refreshed[0].text
    same_tokens(*(answer.get_json() for answer in refreshed))

    assert fast_seen == []  # every request above was plain
    assert full_seen == ["/authorize", "/token", "/token"]
    fast.verify_id_token(issued[0], nonce=authorizations[0].nonce)  # signed, at_hash right
    stored_codes = [stored_code(session, code) for code in codes]
    for stored, authorization in zip(stored_codes, authorizations, strict=True):
        assert stored.pop("code_challenge") == authorization.params["code_challenge"]
    assert stored_codes[0] == stored_codes[1]
    fast_rows, full_rows = (
        [row for row in session.scalars(select(OAuthToken).order_by(OAuthToken.id))][i::2]
        for i in (0, 1)
    )
    assert [comparable(row) for row in fast_rows] == [comparable(row) for row in full_rows]


def stored_code(session, code: str) -> dict[str, Any]:
    row = session.scalar(select(AuthorizationCode).filter_by(code_hash=digest(code)))
    return comparable(row)


def comparable(row: Any) -> dict[str, Any]:
    """A stored row's columns but those that differ between two sign-ins by design (ids, the
    digests of secrets, the grant family, the session)."""
    varying = {"id", "code_hash", "access_token_hash", "refresh_token_hash", "family"}
    varying |= {"browser_session_id", "code_id"}
    return {
        column.key: getattr(row, column.key)
        for column in row.__table__.columns
        if column.key not in varying
    }


# Requests the fast path does not take, each with what the portal gets from either hub.
HANDED_OVER = {
    "prompt=none": ({"prompt": "none"}, 302),
    "a login hint": ({"login_hint": "alice.martin"}, 302),
    "an empty nonce": ({"nonce": ""}, 302),
    "another redirect URI": ({"redirect_uri": "http://127.0.0.1:5001/elsewhere"}, 400),
    "an unknown client": ({"client_id": "nobody"}, 400),
    "plain PKCE": ({"code_challenge_method": "plain"}, 302),
    "an unknown scope": ({"scope": "openid offline_access"}, 302),
    "a repeated scope": ({"scope": "openid openid"}, 302),
}


@pytest.mark.parametrize("name", HANDED_OVER)
def test_an_authorization_request_that_is_not_plain_is_answered_by_the_full_path(
    app, full_app, portals, name
):
    overrides, status = HANDED_OVER[name]
    fast_seen, full_seen = full_path_requests(app), full_path_requests(full_app)
    answers = []
    for portal in portals:
        authorization = portal.authorization(**overrides)
        for name in ("state", "nonce"):  # the same request, but its secrets
            if authorization.params.get(name) and name not in overrides:
                authorization.params[name] = f"the-same-{name}"
        answers.append(portal.browser.get(authorization.url))

    assert answers[0].status_code == status
    assert answers[0].status_code == answers[1].status_code
    assert fast_seen == full_seen == ["/authorize"]
    if status == 302:
        fast_query, full_query = (query(answer) for answer in answers)
        assert fast_query.keys() == full_query.keys()
        assert fast_query.get("error") == full_query.get("error")


def query(answer: Any) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(answer.headers["Location"]).query, keep_blank_values=True))


def test_a_browser_without_a_session_gets_the_sign_in_page_from_the_full_path(app, demo):
    seen = full_path_requests(app)
    portal = Portal("soltea", app.test_client(), app.test_client())

    page, _authorization = portal.authorize()

    assert page.status_code == 200
    assert "Mot de passe" in page.text
    assert seen == ["/authorize"]


def test_a_refused_person_is_answered_and_audited_by_the_full_path(app, demo, sign_in_as, session):
    """R5: bruno's Certificateurs account has expired (DESIGN.md §4)."""
    seen = full_path_requests(app)
    browser = app.test_client()
    sign_in_as(browser, "bruno.petit")
    portal = Portal("certificateurs", browser, app.test_client())

    page, _authorization = portal.authorize()

    assert page.status_code == 403
    assert seen == ["/authorize"]
    bruno = session.scalar(select(User).filter_by(username="bruno.petit"))
    refusals = select(AuditEvent).filter_by(action="oidc.authorize.refused", actor_id=bruno.id)
    assert session.scalars(refusals).first() is not None


def test_a_token_request_that_is_not_plain_is_answered_by_the_full_path(app, soltea_rp, sign_in_as):
    sign_in_as(soltea_rp.browser, "alice.martin")
    seen = full_path_requests(app)
    code, authorization = soltea_rp.code()
    assert seen == []

    wrong_verifier = soltea_rp.exchange(code, "x" * 43)
    with_form_secret = soltea_rp.exchange_in_form(code, authorization.verifier)
    wrong_secret = soltea_rp.backend.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code},
        headers=basic("soltea", "not-the-secret"),
    )

    assert wrong_verifier.status_code == 400
    assert wrong_verifier.get_json()["error"] == "invalid_grant"
    assert with_form_secret.status_code == 200  # client_secret_post, from the full path
    assert wrong_secret.status_code == 401
    assert seen == ["/token", "/token", "/token"]


def test_a_code_sent_twice_is_refused_and_revokes_what_it_gave(app, soltea_rp, sign_in_as):
    """RFC 6749 §4.1.2: the fast path answers the first exchange; the second is the full
    path's, which refuses the code and revokes the tokens the first one got."""
    sign_in_as(soltea_rp.browser, "alice.martin")
    seen = full_path_requests(app)
    code, authorization = soltea_rp.code()
    first = soltea_rp.exchange(code, authorization.verifier)
    second = soltea_rp.exchange(code, authorization.verifier)

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.get_json()["error"] == "invalid_grant"
    assert seen == ["/token"]
    refreshed = soltea_rp.refresh(first.get_json()["refresh_token"])
    assert refreshed.status_code == 400
    assert soltea_rp.userinfo(first.get_json()["access_token"]).status_code == 401


def test_a_refresh_token_sent_twice_revokes_its_family(app, soltea_rp, sign_in_as):
    sign_in_as(soltea_rp.browser, "alice.martin")
    tokens = soltea_rp.sign_in()
    seen = full_path_requests(app)
    rotated = soltea_rp.refresh(tokens["refresh_token"])
    replayed = soltea_rp.refresh(tokens["refresh_token"])

    assert rotated.status_code == 200
    assert replayed.status_code == 400
    assert replayed.get_json()["error"] == "invalid_grant"
    assert seen == ["/token"]
    assert soltea_rp.refresh(rotated.get_json()["refresh_token"]).status_code == 400


def test_the_fast_path_s_answers_are_counted_and_logged_like_the_full_path_s(
    app, soltea_rp, sign_in_as, capsys
):
    sign_in_as(soltea_rp.browser, "alice.martin")
    answered = {"endpoint": "oidc.token", "status": "200"}
    issued = {"grant_type": "authorization_code"}
    before = sample("hub_http_requests_total", answered)
    issued_before = sample("hub_tokens_issued_total", issued)
    capsys.readouterr()

    code, authorization = soltea_rp.code()
    response = soltea_rp.exchange(code, authorization.verifier)

    assert sample("hub_http_requests_total", answered) == before + 1
    assert sample("hub_tokens_issued_total", issued) == issued_before + 1
    lines = capsys.readouterr().err.splitlines()
    token_line = next(line for line in lines if '"POST /token ' in line)
    assert " 200 " in token_line
    assert token_line.endswith(response.headers["X-Request-Id"])
    authorize_line = next(line for line in lines if '"GET /authorize ' in line)
    assert "code=" not in authorize_line  # the path without its query


def sample(name: str, labels: dict[str, str]) -> float:
    """This process's count (the test client's hub is one process)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0
