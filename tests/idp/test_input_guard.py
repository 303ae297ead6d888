"""Issue 12 §1, as people and portals see it: a control character in what a request carries is
refused with a 400 before any view reads it — a French page for people, OAuth's
`invalid_request` for the portals' back ends — while a textarea keeps its lines and a password
its tab; a body above the configured limit is a 413. On SQLite and PostgreSQL (which refuses
NUL in text: these were 500s there)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from hub.audit.models import AuditEvent
from hub.config import Settings
from hub.demo import DEMO_PASSWORD
from hub.oidc.models import BrowserSession
from idp import create_app
from idp.extensions import db
from idp.input_guard import OAUTH_DESCRIPTIONS, PAGE_MESSAGE
from tests.idp.oidc.conftest import PORTALS, basic
from tests.idp.signing_in import csrf_token_of

SOLTEA_AUTH = basic("soltea", PORTALS["soltea"][0])


def refused_page(response) -> None:
    assert response.status_code == 400, response.text[:300]
    assert response.mimetype == "text/html"
    assert '<html lang="fr">' in response.text
    assert str(escape(PAGE_MESSAGE)) in response.text
    assert "Location" not in response.headers


def oauth_refusal(response, status: int = 400) -> dict[str, str]:
    assert response.status_code == status, response.text[:300]
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["error"] == "invalid_request"
    assert body["error_description"].isascii()  # RFC 6749 §5.2
    return body


def count(session, model, **filters) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(model).filter_by(**filters))


# -- pages ------------------------------------------------------------------------------------


def test_the_issue_probe_logout_with_a_nul_in_client_id_is_a_400_page(client, demo):
    refused_page(client.get("/logout?client_id=soltea%00"))


def test_a_signed_in_person_sent_to_logout_with_a_nul_stays_signed_in(
    client, session, demo, sign_in_as
):
    sign_in_as(client, "alice.martin")

    refused_page(client.get("/logout?client_id=soltea&state=%00"))
    assert count(session, BrowserSession, ended_at=None) == 1


@pytest.mark.parametrize("login", ["alice.martin\x00", "alice.martin\u0085", "alice\nmartin"])
def test_a_control_character_in_the_identifiant_is_refused_before_any_check(
    client, session, demo, login
):
    token = csrf_token_of(client.get("/login").text)

    response = client.post(
        "/login", data={"csrf_token": token, "username": login, "password": DEMO_PASSWORD}
    )

    refused_page(response)
    assert count(session, BrowserSession) == 0
    assert count(session, AuditEvent, action="session.sign_in_failed") == 0


@pytest.mark.parametrize("next_path", ["/%09/evil.example", "/%0A/evil.example", "/%00"])
def test_a_next_holding_a_control_character_is_refused(client, next_path):
    refused_page(client.get(f"/login?next={next_path}"))


def test_a_control_character_in_a_parameter_name_is_refused(client):
    refused_page(client.get("/login?next%00=/"))


def test_a_password_keeps_a_pasted_tab(client, session, demo, sign_in_as):
    """Passwords are only hashed: a tab in one is the person's, not an attack."""
    sign_in_as(client, "alice.martin")
    token = csrf_token_of(client.get("/password/change").text)
    new = "Nouveau\tMot-de-passe-2026"

    response = client.post(
        "/password/change",
        data={
            "csrf_token": token,
            "current_password": DEMO_PASSWORD,
            "password": new,
            "password_confirmation": new,
        },
    )

    assert response.status_code == 200
    assert "Votre mot de passe a été modifié" in response.text
    assert count(session, AuditEvent, action="user.password_change") == 1


def test_a_textarea_keeps_its_lines(client, demo):
    """Registration's certifiers are typed one per line; only the other control characters
    are refused there."""
    token = csrf_token_of(client.get("/register?portal=certificateurs").text)
    form = {
        "csrf_token": token,
        "portal": "certificateurs",
        "matricule": "100003",
        "contract": "CER-100003",
        "depositor": "on",
    }

    lines = client.post("/register", data=form | {"certifiers": "100001\r\n100002\t"})
    nul = client.post("/register", data=form | {"certifiers": "100001\x00"})

    assert lines.status_code == 200
    assert str(escape(PAGE_MESSAGE)) not in lines.text
    refused_page(nul)


def test_a_nul_in_the_user_agent_does_not_reach_the_session_it_would_be_stored_with(
    client, session, demo
):
    token = csrf_token_of(client.get("/login").text)

    response = client.post(
        "/login",
        data={"csrf_token": token, "username": "alice.martin", "password": DEMO_PASSWORD},
        headers={"User-Agent": "Mozilla/5.0\x00"},
    )

    refused_page(response)
    assert count(session, BrowserSession) == 0


# -- the portals' back ends: OAuth's invalid_request ------------------------------------------


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/token", {"grant_type": "authorization_code", "code": "abc\x00"}),
        ("/token", {"grant_type": "refresh_token", "refresh_token": "\x1b[2J"}),
        ("/oauth/revoke", {"token": "abc\x00"}),
        ("/oauth/introspect", {"token": "abc", "token_type_hint": "access_token\x00"}),
    ],
)
def test_the_portals_back_ends_get_invalid_request(client, demo, path, form):
    body = oauth_refusal(client.post(path, data=form, headers=SOLTEA_AUTH))

    assert body["error_description"] == OAUTH_DESCRIPTIONS["invalid_field"]


def test_userinfo_refuses_a_control_character_in_the_bearer_token(client, demo):
    oauth_refusal(client.get("/userinfo", headers={"Authorization": "Bearer abc\x00"}))


def test_a_json_body_the_token_endpoint_cannot_read_is_invalid_request(client, demo):
    response = client.post(
        "/token", data=b"[" * 1000, content_type="application/json", headers=SOLTEA_AUTH
    )

    body = oauth_refusal(response)
    assert body["error_description"] == OAUTH_DESCRIPTIONS["invalid_json"]


# -- body size: HUB_MAX_REQUEST_BYTES -----------------------------------------------------------


def test_the_body_limit_is_a_setting_of_one_mebibyte_by_default():
    assert Settings().max_request_bytes == 1024 * 1024
    assert Settings.from_env({"HUB_MAX_REQUEST_BYTES": "2048"}).max_request_bytes == 2048


@pytest.fixture
def small_bodies(settings, session_factory):
    """The hub with a 4 kB body limit (`HUB_MAX_REQUEST_BYTES=4096`)."""
    app = create_app(replace(settings, max_request_bytes=4096), TESTING=True)
    assert app.config["MAX_CONTENT_LENGTH"] == 4096
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_body_above_the_limit_is_413_in_the_form_its_caller_reads(small_bodies, demo):
    client = small_bodies.test_client()
    big_form = {"username": "alice.martin", "password": "x" * 5000}
    big_json = b'{"service": "' + b"x" * 5000 + b'"}'

    page = client.post("/login", data=big_form)
    api = client.patch("/api/v1/me", data=big_json, content_type="application/json")
    token = client.post("/token", data={"grant_type": "x", "code": "x" * 5000})

    assert page.status_code == 413
    assert "Le formulaire envoyé est trop volumineux." in page.text
    assert '<html lang="fr">' in page.text
    assert api.status_code == 413
    assert api.get_json()["error"] == "request_too_large"
    assert oauth_refusal(token, status=413)["error_description"] == "Request body too large."


def test_a_body_within_the_limit_goes_through(small_bodies, demo):
    client = small_bodies.test_client()
    token = csrf_token_of(client.get("/login").text)

    response = client.post(
        "/login",
        data={"csrf_token": token, "username": "alice.martin", "password": DEMO_PASSWORD},
    )

    assert response.status_code == 303
