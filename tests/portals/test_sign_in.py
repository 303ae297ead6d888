"""Signing in through the hub: the authorization request (code flow, PKCE S256, nonce, state,
silent first), and the callback's checks before anything else: our `state`, the hub's `iss`
(RFC 9207); the hub's refusals become the « Connexion » page's message box (R5)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.portals.conftest import account, claims, page_text, sign_in

R5 = "Votre compte est expiré. Veuillez contacter votre administrateur."


def authorization_request(client, path: str = "/auth/login") -> dict[str, str]:
    response = client.get(path)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    return {k: v[0] for k, v in parse_qs(location.query).items()} | {
        "_endpoint": f"{location.scheme}://{location.netloc}{location.path}"
    }


def test_sign_in_asks_the_hub_silently_with_pkce_nonce_and_state(client, oidc_party):
    params = authorization_request(client, "/auth/login?next=/mes-portails")

    assert params["_endpoint"] == f"{oidc_party.issuer}/authorize"
    assert params["response_type"] == "code"
    assert params["client_id"] == "soltea"
    assert params["redirect_uri"] == "http://127.0.0.1:5001/auth/callback"
    assert params["scope"] == "openid profile email accounts admin"
    assert params["code_challenge_method"] == "S256"
    assert len(params["code_challenge"]) == 43
    assert len(params["state"]) >= 20
    assert len(params["nonce"]) >= 20
    assert params["prompt"] == "none"


def test_two_sign_ins_never_share_state_nonce_or_challenge(client):
    first, second = authorization_request(client), authorization_request(client)

    for name in ("state", "nonce", "code_challenge"):
        assert first[name] != second[name]


def test_creer_un_compte_sends_to_the_hub_with_prompt_create(client):
    params = authorization_request(client, "/auth/create-account")

    assert params["prompt"] == "create"


def test_when_the_hub_needs_the_person_the_interactive_sign_in_follows(client, oidc_party):
    params = authorization_request(client, "/auth/login?next=/mes-informations")

    response = client.get(
        "/auth/callback",
        query_string={
            "error": "login_required",
            "state": params["state"],
            "iss": oidc_party.issuer,
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/mes-informations&interactive=1"
    interactive = authorization_request(client, response.headers["Location"])
    assert "prompt" not in interactive


def test_r5_expired_account_shows_the_message_box_then_fermer_closes_it(client, oidc_party):
    params = authorization_request(client)

    response = client.get(
        "/auth/callback",
        query_string={
            "error": "access_denied",
            "error_description": "account_expired",
            "state": params["state"],
            "iss": oidc_party.issuer,
        },
        follow_redirects=True,
    )

    assert response.request.path == "/connexion"
    assert R5 in page_text(response)
    assert 'href="/connexion">Fermer</a>' in page_text(response)
    assert R5 not in client.get("/connexion").text  # « Fermer »


@pytest.mark.parametrize(
    "query",
    [
        {"code": "c", "state": "forged"},
        {"code": "c"},
        {"error": "access_denied", "error_description": "account_expired", "state": "forged"},
    ],
)
def test_callback_with_a_state_we_did_not_issue_is_refused(client, oidc_party, query, caplog):
    authorization_request(client)

    with caplog.at_level(logging.WARNING, logger="portals.security"):
        response = client.get("/auth/callback", query_string=query | {"iss": oidc_party.issuer})

    assert response.status_code == 400
    assert "La connexion n'a pas abouti" in page_text(response)
    assert R5 not in page_text(response)
    assert "unknown state" in caplog.text


@pytest.mark.parametrize("iss", ["http://127.0.0.1:1", None])
def test_rfc9207_callback_from_another_issuer_is_refused(client, iss, caplog):
    params = authorization_request(client)
    query = {"code": "c", "state": params["state"]} | ({"iss": iss} if iss else {})

    with caplog.at_level(logging.WARNING, logger="portals.security"):
        response = client.get("/auth/callback", query_string=query)

    assert response.status_code == 400
    assert "La connexion n'a pas abouti" in page_text(response)
    assert "callback with iss=" in caplog.text


def test_a_refusal_other_than_r5_gets_a_clear_french_page(client, oidc_party):
    params = authorization_request(client)

    response = client.get(
        "/auth/callback",
        query_string={"error": "invalid_scope", "state": params["state"], "iss": oidc_party.issuer},
    )

    assert response.status_code == 400
    assert "Le service d'authentification a refusé la connexion." in page_text(response)
    assert 'href="/connexion"' in page_text(response)


def test_token_endpoint_failing_gives_the_unavailable_page_retrying_the_sign_in(client, oidc_party):
    """The party answers 501 to the token request, as a hub in trouble would."""
    params = authorization_request(client, "/auth/login?next=/mes-portails")

    response = client.get(
        "/auth/callback",
        query_string={"code": "c", "state": params["state"], "iss": oidc_party.issuer},
    )

    assert response.status_code == 503
    assert "Service d'authentification indisponible" in page_text(response)
    assert 'href="/auth/login?next=/mes-portails"' in page_text(response)


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/mes-portails", "/mes-portails"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("", "/"),
        # Issue 12 §3: whitespace and control characters, refused outright as at the hub,
        # not left to `urlsplit` (browsers strip tabs and line breaks: `//evil.example`).
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("/\r\n/evil.example", "/"),
        ("/\x00/evil.example", "/"),
        ("/\x0b/evil.example", "/"),
        ("/\u2028/evil.example", "/"),
        ("/mes portails", "/"),
        ("/" + "a" * 5000, "/"),
        ("/%09/evil.example", "/%09/evil.example"),  # a path of this portal, encoded tab and all
    ],
)
def test_next_is_never_an_open_redirect(next_url, expected):
    from portals.kit.auth.views import safe_next

    assert safe_next(next_url) == expected


@pytest.mark.parametrize("next_url", ["/%09/evil.example", "/%0A/evil.example", "/%00/x"])
def test_a_signed_in_person_sent_to_a_control_character_next_stays_on_the_portal(
    app, client, next_url
):
    sign_in(app, client, claims(account()))

    response = client.get(f"/auth/login?next={next_url}")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
