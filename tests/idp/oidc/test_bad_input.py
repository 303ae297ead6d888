"""Every bad input gets the right OAuth / OpenID Connect answer, never a 500 and never a
redirect to an address the hub cannot vouch for (OAuth 2.0 Security BCP)."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.clock import utcnow
from hub.oidc.models import AuthorizationCode
from idp.web import messages
from tests.idp.oidc.conftest import ISSUER, basic


@pytest.fixture
def alice(sign_in_as, client, demo):
    return sign_in_as(client, "alice.martin")


def refused_page(response) -> None:
    """The hub's own error page: no redirect anywhere."""
    assert response.status_code == 400, response.text[:300]
    assert "Location" not in response.headers
    assert messages.INVALID_REQUEST_TITLE in response.text


def error_at_portal(portal, response, authorization, error: str) -> dict[str, str]:
    params = portal.callback(response)
    assert params["error"] == error, params
    assert params["iss"] == ISSUER
    assert params.get("state") == authorization.state
    assert "code" not in params
    return params


def token_error(response, error: str, status: int = 400) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["error"] == error, body
    return body


# -- the authorization endpoint: whom it may answer -------------------------------------------


@pytest.mark.parametrize("client_id", ["unknown-portal", "", "soltea\x00", "x" * 500])
def test_unknown_client_gets_an_error_page_never_a_redirect(soltea_rp, alice, client_id):
    response, _ = soltea_rp.authorize(client_id=client_id)

    refused_page(response)
    assert messages.UNKNOWN_CLIENT.split(" ")[0] in response.text


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/callback",
        "http://127.0.0.1:5001/auth/callback/",
        "http://127.0.0.1:5001/auth/callback?x=1",
        "http://127.0.0.1:5001/auth/CALLBACK",
        "http://127.0.0.1:5002/auth/callback",  # Certificateurs' own
        None,
    ],
)
def test_redirect_uri_must_be_registered_exactly_or_no_redirect(soltea_rp, alice, redirect_uri):
    response, _ = soltea_rp.authorize(redirect_uri=redirect_uri)

    refused_page(response)
    assert 'href="http://127.0.0.1:5001"' in response.text  # back to the portal itself


def test_repeated_client_id_or_redirect_uri_gets_an_error_page(soltea_rp, alice, client):
    authorization = soltea_rp.authorization()
    query = "&".join(f"{k}={v}" for k, v in authorization.params.items())

    refused_page(client.get(f"/authorize?{query}&client_id=certificateurs"))
    refused_page(client.get(f"/authorize?{query}&redirect_uri=https://evil.example/"))


# -- the authorization endpoint: errors sent back to the portal ------------------------------


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),  # plain by default: refused
        ({"code_challenge": "too-short"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": "code id_token"}, "unsupported_response_type"),
        ({"response_type": "codé"}, "unsupported_response_type"),  # Authlib's ValueError: 500
        ({"response_type": '"\\'}, "unsupported_response_type"),
        ({"response_type": "code\x00"}, "invalid_request"),  # idp.input_guard's predicate
        ({"login_hint": "bruno.petit\x00"}, "invalid_request"),
        ({"state": "s\x1b[2J"}, "invalid_request"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "profile email"}, "invalid_scope"),  # no openid
        ({"scope": None}, "invalid_scope"),
        ({"scope": "openid superuser"}, "invalid_scope"),
        ({"scope": "openid offline_access"}, "invalid_scope"),
        ({"prompt": "none login"}, "invalid_request"),
        ({"max_age": "soon"}, "invalid_request"),
        ({"max_age": "-1"}, "invalid_request"),
        ({"response_mode": "fragment"}, "invalid_request"),
        ({"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
        ({"request_uri": "https://evil.example/request"}, "request_uri_not_supported"),
        ({"nonce": "n" * 256}, "invalid_request"),
        ({"nonce": "nul\x00byte"}, "invalid_request"),
        ({"login_hint": "h" * 3000}, "invalid_request"),
    ],
)
def test_protocol_errors_go_back_to_the_portal_with_state_and_iss(
    soltea_rp, alice, session, overrides, error
):
    response, authorization = soltea_rp.authorize(**overrides)

    error_at_portal(soltea_rp, response, authorization, error)
    assert session.scalar(select(func.count()).select_from(AuthorizationCode)) == 0


def test_protocol_errors_are_checked_before_the_session(soltea_rp):
    response, authorization = soltea_rp.authorize(code_challenge=None)

    error_at_portal(soltea_rp, response, authorization, "invalid_request")


def test_a_repeated_parameter_is_invalid_request(soltea_rp, alice, client):
    authorization = soltea_rp.authorization()
    query = "&".join(f"{k}={v}" for k, v in authorization.params.items())

    response = client.get(f"/authorize?{query}&scope=openid")

    error_at_portal(soltea_rp, response, authorization, "invalid_request")


def test_an_oversized_state_is_refused_without_being_echoed(soltea_rp, alice):
    response, _ = soltea_rp.authorize(state="s" * 100_000)

    params = soltea_rp.callback(response)
    assert (params["error"], params["iss"]) == ("invalid_request", ISSUER)
    assert "state" not in params
    assert len(response.headers["Location"]) < 500


def test_an_oversized_posted_authorization_request_is_413(soltea_rp, alice, client):
    data = soltea_rp.authorization().params | {"state": "s" * 2_000_000}

    assert client.post("/authorize", data=data).status_code == 413


# -- the token endpoint -----------------------------------------------------------------------


def test_wrong_verifier_is_invalid_grant(soltea_rp, alice):
    code, _ = soltea_rp.code()
    other = soltea_rp.authorization().verifier

    token_error(soltea_rp.exchange(code, other), "invalid_grant")


def test_missing_verifier_is_invalid_request(soltea_rp, alice):
    code, _ = soltea_rp.code()

    token_error(soltea_rp.exchange(code, None), "invalid_request")


def test_a_reused_code_fails_and_revokes_what_it_gave(soltea_rp, alice):
    code, authorization = soltea_rp.code()
    first = soltea_rp.exchange(code, authorization.verifier).get_json()

    second = soltea_rp.exchange(code, authorization.verifier)

    token_error(second, "invalid_grant")
    assert soltea_rp.userinfo(first["access_token"]).status_code == 401
    assert soltea_rp.refresh(first["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_a_reused_code_also_revokes_the_refreshed_descendants(soltea_rp, alice):
    code, authorization = soltea_rp.code()
    first = soltea_rp.exchange(code, authorization.verifier).get_json()
    renewed = soltea_rp.refresh(first["refresh_token"]).get_json()

    token_error(soltea_rp.exchange(code, authorization.verifier), "invalid_grant")

    assert soltea_rp.userinfo(renewed["access_token"]).status_code == 401
    assert soltea_rp.refresh(renewed["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_another_portals_code_is_invalid_grant_and_stays_its_owners(
    soltea_rp, certificateurs_rp, alice
):
    code, authorization = soltea_rp.code()

    stolen = certificateurs_rp.exchange(
        code, authorization.verifier, redirect_uri=soltea_rp.redirect_uri
    )

    token_error(stolen, "invalid_grant")
    assert soltea_rp.exchange(code, authorization.verifier).status_code == 200


def test_an_expired_code_is_invalid_grant(soltea_rp, alice, time_machine, settings):
    code, authorization = soltea_rp.code()
    time_machine.move_to(utcnow() + timedelta(seconds=settings.oidc.code_seconds), tick=False)

    token_error(soltea_rp.exchange(code, authorization.verifier), "invalid_grant")


def test_a_code_is_refused_once_its_session_ended(soltea_rp, alice, session):
    from hub.oidc import sessions

    code, authorization = soltea_rp.code()
    sessions.end(session, session.merge(alice), now=utcnow())
    session.commit()

    token_error(soltea_rp.exchange(code, authorization.verifier), "invalid_grant")


def test_the_redirect_uri_must_match_the_authorization_request(soltea_rp, alice):
    code, authorization = soltea_rp.code()

    response = soltea_rp.exchange(
        code, authorization.verifier, redirect_uri="http://127.0.0.1:5001/other"
    )

    token_error(response, "invalid_grant")


@pytest.mark.parametrize(
    "headers",
    [
        basic("soltea", "wrong-secret"),
        basic("soltea", "certificateurs-dev-secret"),
        basic("nobody", "soltea-dev-secret"),
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
        {"Authorization": "Basic é"},
        {"Authorization": "Bearer something"},
        {},
    ],
)
def test_wrong_client_credentials_are_401_invalid_client(soltea_rp, alice, backend, headers):
    code, authorization = soltea_rp.code()

    response = backend.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": soltea_rp.redirect_uri,
            "code_verifier": authorization.verifier,
        },
        headers=headers,
    )

    token_error(response, "invalid_client", status=401)
    assert response.headers["WWW-Authenticate"].startswith("Basic ")


def test_wrong_secret_in_the_form_is_401_invalid_client(soltea_rp, alice):
    code, authorization = soltea_rp.code()

    response = soltea_rp.exchange_in_form(code, authorization.verifier, secret="wrong")

    token_error(response, "invalid_client", status=401)


@pytest.mark.parametrize("grant_type", ["password", "client_credentials", "implicit", "x" * 3000])
def test_unsupported_grant_types(soltea_rp, backend, grant_type):
    response = backend.post("/token", data={"grant_type": grant_type}, headers=soltea_rp.auth)

    token_error(response, "unsupported_grant_type")


def test_missing_grant_type_is_invalid_request(soltea_rp, backend):
    token_error(backend.post("/token", headers=soltea_rp.auth), "invalid_request")
    token_error(
        backend.post("/token", json={"grant_type": "refresh_token"}, headers=soltea_rp.auth),
        "invalid_request",
    )


def test_repeated_token_parameters_are_invalid_request(soltea_rp, alice, backend):
    code, authorization = soltea_rp.code()

    response = backend.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": [code, "another"],
            "redirect_uri": soltea_rp.redirect_uri,
            "code_verifier": authorization.verifier,
        },
        headers=soltea_rp.auth,
    )

    token_error(response, "invalid_request")


@pytest.mark.parametrize("field", ["code", "code_verifier", "redirect_uri"])
def test_huge_token_parameters_are_refused_cleanly(soltea_rp, alice, field):
    code, authorization = soltea_rp.code()
    data = {field: "z" * 60_000}

    response = soltea_rp.exchange(code, authorization.verifier, **data)

    assert response.status_code == 400
    assert response.get_json()["error"] in {"invalid_grant", "invalid_request"}


def test_an_oversized_token_request_is_413_json(soltea_rp, backend):
    response = backend.post("/token", data={"grant_type": "z" * 2_000_000}, headers=soltea_rp.auth)

    assert response.status_code == 413
    assert response.get_json()["error"] == "invalid_request"


@pytest.mark.parametrize("path", ["/token", "/oauth/revoke", "/oauth/introspect"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_post_only_endpoints_answer_405_in_json(backend, demo, path, method):
    response = backend.open(path, method=method)

    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.get_json()["error"] == "invalid_request"


def test_a_missing_refresh_token_is_invalid_request(soltea_rp, backend):
    response = backend.post("/token", data={"grant_type": "refresh_token"}, headers=soltea_rp.auth)

    token_error(response, "invalid_request")


def test_revocation_without_a_token_is_invalid_request(soltea_rp):
    token_error(soltea_rp.revoke(""), "invalid_request")
