"""Browser-side hardening (issue 3 §6): security headers on every response, cookie flags, and
French error pages (JSON for programs) that never show a stack trace nor answer 500 to bad
input."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
from flask import jsonify

from idp import create_app
from idp.auth.forms import WRONG_CREDENTIALS
from idp.extensions import db
from idp.security import CONTENT_SECURITY_POLICY
from idp.web.csrf import MESSAGE as CSRF_MESSAGE
from tests.idp.signing_in import csrf_token_of, session_cookie_header, submit_login

EXPECTED_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)


@pytest.fixture
def make_app(settings, session_factory):
    """Builds an app with changed settings or Flask configuration (disposed afterwards)."""
    apps = []

    def make(settings_changes=None, **flask_config):
        flask_config.setdefault("TESTING", True)
        app = create_app(replace(settings, **(settings_changes or {})), **flask_config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def assert_protected(response) -> None:
    assert response.headers["Content-Security-Policy"] == EXPECTED_CSP
    assert "form-action" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_policy_is_the_documented_one():
    assert CONTENT_SECURITY_POLICY == EXPECTED_CSP


@pytest.mark.parametrize("path", ["/login", "/healthz", "/no-such-page", "/static/hub.css"])
def test_every_response_carries_the_security_headers(client, path):
    assert_protected(client.get(path))


def test_html_pages_are_not_stored_json_may_be(client):
    assert client.get("/login").headers["Cache-Control"] == "no-store"
    assert client.get("/no-such-page").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/healthz").headers.get("Cache-Control", "")


def test_a_response_setting_a_cookie_is_not_stored(make_app):
    app = make_app()

    @app.get("/test-remember")
    def remember():
        response = jsonify(ok=True)
        response.set_cookie("seen", "1")
        return response

    response = app.test_client().get("/test-remember")

    assert response.mimetype == "application/json"
    assert "seen=" in response.headers["Set-Cookie"]
    assert response.headers["Cache-Control"] == "no-store"


def test_sign_in_redirect_sets_the_cookie_and_is_not_stored(client, demo):
    response = submit_login(client, "alice.martin")

    assert response.status_code == 303
    assert_protected(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_without_https_no_hsts_and_no_secure_cookies(client, demo):
    page = client.get("/login")
    signed_in = submit_login(client, "alice.martin")

    assert "Strict-Transport-Security" not in page.headers
    csrf_cookie = session_cookie_header(page, "hub_csrf")
    sso_cookie = session_cookie_header(signed_in, "hub_sso")
    for cookie in (csrf_cookie, sso_cookie):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie


def test_with_https_hsts_and_secure_cookies(make_app, demo):
    app = make_app({"public_url": "https://hub.example"})
    client = app.test_client()

    page = client.get("/login", base_url="https://localhost")
    signed_in = client.post(
        "/login",
        base_url="https://localhost",
        data={
            "csrf_token": csrf_token_of(page.text),
            "username": "alice.martin",
            "password": "Demo-Password-2026!",
        },
    )

    assert signed_in.status_code == 303
    assert page.headers["Strict-Transport-Security"] == "max-age=31536000"
    for cookie in (
        session_cookie_header(page, "__Host-hub_csrf"),
        session_cookie_header(signed_in, "__Host-hub_sso"),
    ):
        assert "Secure" in cookie
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


def french_page(response, status: int, message: str) -> None:
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert '<html lang="fr">' in response.text
    assert message in response.text
    assert "Traceback" not in response.text


def test_404_is_a_french_page(client):
    french_page(client.get("/no-such-page"), 404, "Cette page n&#39;existe pas.")


def test_405_is_a_french_page_that_keeps_allow(client):
    response = client.delete("/login")

    french_page(response, 405, "Cette adresse n&#39;accepte pas cette méthode.")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_csrf_failure_shows_its_own_message(client):
    response = client.post("/login", data={"username": "alice.martin", "password": "x"})

    french_page(response, 400, CSRF_MESSAGE.replace("'", "&#39;"))


def test_a_planted_csrf_cookie_is_not_trusted(client, demo):
    """Double-submit with a signed cookie: a token chosen by an attacker (a cookie planted from
    a sibling host, echoed in their forged form) does not pass without the hub's signature."""
    client.set_cookie("hub_csrf", "chosen-by-attacker.0000")

    response = client.post(
        "/login",
        data={"csrf_token": "chosen-by-attacker", "username": "alice.martin", "password": "x"},
    )

    french_page(response, 400, CSRF_MESSAGE.replace("'", "&#39;"))


def test_an_oversized_form_gets_413_in_french(client):
    token = csrf_token_of(client.get("/login").text)
    fields = {"csrf_token": token, "password": "x"}

    big_field = client.post(
        "/login", data={**fields, "username": "a" * (65 * 1024)}, content_type="multipart/form-data"
    )
    many_fields = "&".join(f"f{n}={'x' * 2100}" for n in range(500))  # > 1 MiB in all
    big_body = client.post(
        "/login", data=many_fields, content_type="application/x-www-form-urlencoded"
    )

    french_page(big_field, 413, "Le formulaire envoyé est trop volumineux.")
    french_page(big_body, 413, "Le formulaire envoyé est trop volumineux.")


def test_an_over_long_identifiant_below_the_form_limit_gets_the_generic_answer(client, demo):
    token = csrf_token_of(client.get("/login").text)

    response = client.post(
        "/login", data={"csrf_token": token, "username": "a" * (60 * 1024), "password": "x"}
    )

    assert response.status_code == 200
    assert WRONG_CREDENTIALS in response.text


def test_errors_are_json_for_the_api_and_for_json_clients(client):
    api = client.get("/api/no-such-thing")
    asked = client.get("/no-such-page", headers={"Accept": "application/json"})
    browser = client.get("/no-such-page", headers={"Accept": "text/html,*/*;q=0.8"})

    for response in (api, asked):
        assert response.status_code == 404
        assert response.get_json() == {
            "error": "not_found",
            "error_description": "Cette page n'existe pas.",
            "message": "Cette page n'existe pas.",
        }
    assert browser.mimetype == "text/html"


def test_an_unexpected_error_is_logged_and_shown_without_detail(make_app, caplog):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    @app.get("/test-crash")
    def crash():
        raise RuntimeError("secret internal detail")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/test-crash")

    french_page(response, 500, "Une erreur inattendue s&#39;est produite.")
    assert "secret internal detail" not in response.text
    assert "secret internal detail" in caplog.text
    assert_protected(response)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"csrf_token=%zz&username=%ff%fe&password=%", "application/x-www-form-urlencoded"),
        (b"--x\r\nContent-Disposition: form-data; name=", "multipart/form-data; boundary=x"),
        (b"username=alice", "multipart/form-data"),
        (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded; charset=utf-16"),
    ],
    ids=["bad-percent-encoding", "truncated-multipart", "no-boundary", "odd-charset"],
)
def test_malformed_form_encodings_never_give_a_500(client, demo, body, content_type):
    client.get("/login")

    response = client.post("/login", data=body, content_type=content_type)

    assert response.status_code == 400
    assert '<html lang="fr">' in response.text


def test_undecodable_credentials_get_the_generic_answer(client, demo):
    page = client.get("/login")
    token = csrf_token_of(page.text)

    response = client.post(
        "/login",
        data=f"csrf_token={token}&username=alice%ff%fe&password=%fe%ff".encode(),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert WRONG_CREDENTIALS in response.text
