"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0 §2.6), the portal's side: a
logout token signed by the hub's published key ends every portal session of that hub session;
anything else is refused with 400 and a JSON error, and ends nothing."""

from __future__ import annotations

import logging
import time

import pytest

from tests.portals.conftest import account, claims, session_exists, sign_in
from tests.portals.oidc_party import new_key, running_party

ENDPOINT = "/auth/backchannel-logout"


@pytest.fixture
def sessions(app, client):
    """Alice signed in twice under hub session sid-1 (two browsers), once under sid-2, and
    Bruno once under sid-3."""
    alice = claims(account())
    bruno = claims(account(), sub="sub-bruno")
    return {
        "sid-1/a": sign_in(app, client, alice, sid="sid-1", key="k1a"),
        "sid-1/b": sign_in(app, client, alice, sid="sid-1", key="k1b"),
        "sid-2": sign_in(app, client, alice, sid="sid-2", key="k2"),
        "sid-3": sign_in(app, client, bruno, sid="sid-3", key="k3"),
    }


def alive(app, sessions) -> set[str]:
    return {name for name, key in sessions.items() if session_exists(app, key)}


def post(client, token: str):
    return client.post(ENDPOINT, data={"logout_token": token})


def test_logout_token_ends_every_session_of_that_hub_session(app, client, oidc_party, sessions):
    response = post(client, oidc_party.sign(oidc_party.logout_claims(sid="sid-1")))

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert alive(app, sessions) == {"sid-2", "sid-3"}


def test_logout_token_with_sub_only_ends_all_of_the_persons_sessions(
    app, client, oidc_party, sessions
):
    response = post(client, oidc_party.sign(oidc_party.logout_claims(sid=None, sub="sub-alice")))

    assert response.status_code == 200
    assert alive(app, sessions) == {"sid-3"}


def test_the_browser_whose_session_ended_sees_connexion_again(app, oidc_party):
    browser = app.test_client()
    sign_in(app, browser, claims(account()), sid="sid-9")
    assert "Bienvenue sur SOLTÉA" in browser.get("/").text

    post(app.test_client(), oidc_party.sign(oidc_party.logout_claims(sid="sid-9")))

    page = browser.get("/")
    assert "Bienvenue" not in page.text
    assert "Me connecter" in page.text


def test_replayed_token_is_refused(app, client, oidc_party, sessions):
    token = oidc_party.sign(oidc_party.logout_claims(sid="sid-1"))
    assert post(client, token).status_code == 200
    sign_in(app, client, claims(account()), sid="sid-1", key="k1c")

    replay = post(client, token)

    assert replay.status_code == 400
    assert replay.json == {
        "error": "invalid_request",
        "error_description": "jti already used (replay)",
    }
    assert session_exists(app, "k1c")


# Claims by the test's clock (`now`), read when the test runs: times taken at collection would
# age while a long suite reaches the test.
INVALID_CLAIMS = [
    (lambda now: {"aud": "certificateurs"}, "aud"),
    (lambda now: {"iss": "http://127.0.0.1:1"}, "iss"),
    (lambda now: {"exp": now - 300, "iat": now - 420}, "expired"),
    (lambda now: {"iat": now + 600, "exp": now + 700}, "future"),
    (lambda now: {"iat": None}, "iat"),
    (lambda now: {"exp": None}, "exp"),
    (lambda now: {"jti": None}, "jti"),
    (lambda now: {"events": None}, "events"),
    (lambda now: {"events": {"http://schemas.openid.net/event/other": {}}}, "events"),
    (lambda now: {"nonce": "n-1"}, "nonce"),
    (lambda now: {"sid": None, "sub": None}, "neither sid nor sub"),
    (lambda now: {"exp": now + 7200}, "lifetime"),
]


@pytest.mark.parametrize(
    ("overrides", "reason"), INVALID_CLAIMS, ids=[reason for _, reason in INVALID_CLAIMS]
)
def test_invalid_logout_token_is_refused_and_ends_nothing(
    app, client, oidc_party, sessions, overrides, reason, caplog
):
    claims = {"sid": "sid-1"} | overrides(int(time.time()))
    token = oidc_party.sign(oidc_party.logout_claims(**claims))

    with caplog.at_level(logging.WARNING, logger="portals.security"):
        response = post(client, token)

    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert reason in response.json["error_description"]
    assert alive(app, sessions) == set(sessions)
    assert "back-channel logout refused" in caplog.text


def test_token_not_typed_as_logout_token_is_refused(app, client, oidc_party, sessions):
    response = post(client, oidc_party.sign(oidc_party.logout_claims(), typ="JWT"))

    assert response.status_code == 400
    assert "typ" in response.json["error_description"]
    assert alive(app, sessions) == set(sessions)


def test_token_signed_with_a_key_the_hub_does_not_publish_is_refused(
    app, client, oidc_party, sessions
):
    forged = oidc_party.sign(oidc_party.logout_claims(), key=new_key())

    response = post(client, forged)

    assert response.status_code == 400
    assert alive(app, sessions) == set(sessions)


def test_tampered_signature_is_refused(app, client, oidc_party, sessions):
    header, payload, signature = oidc_party.sign(oidc_party.logout_claims()).split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"

    response = post(client, tampered)

    assert response.status_code == 400
    assert alive(app, sessions) == set(sessions)


@pytest.mark.parametrize("body", [{}, {"logout_token": ""}, {"logout_token": "not-a-jwt"}])
def test_missing_or_malformed_token_is_refused(client, body):
    response = client.post(ENDPOINT, data=body)

    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"


def test_key_rotated_at_the_hub_is_fetched_again(make_app):
    """The hub signs with a key published after the portal last read the JWKS: the unknown
    `kid` makes the portal read it again, once."""
    with running_party() as party:
        app = make_app("soltea", issuer=party.issuer)
        client = app.test_client()
        first = post(client, party.sign(party.logout_claims(sid="sid-a")))
        party.published.append(new_key())

        second = post(client, party.sign(party.logout_claims(sid="sid-b")))

        assert (first.status_code, second.status_code) == (200, 200)
        assert party.jwks_requests == 2


def test_back_channel_logout_needs_no_csrf_token_but_only_accepts_post(client, oidc_party):
    assert client.get(ENDPOINT).status_code == 405
    assert post(client, oidc_party.sign(oidc_party.logout_claims())).status_code == 200


def test_hub_keys_unavailable_answers_503_so_the_hub_retries(make_app, closed_port_issuer):
    client = make_app("soltea", issuer=closed_port_issuer).test_client()

    response = client.post(ENDPOINT, data={"logout_token": "a.b.c"})

    assert response.status_code == 503
    assert response.json["error"] == "temporarily_unavailable"
