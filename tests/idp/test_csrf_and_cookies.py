"""Issue 12 §3: the hub's cookies and its CSRF token. A (token, cookie) pair planted from another
browser — by a sibling host able to set cookies for the hub's — is no use against a signed-in
person, whose forms carry a token bound to their session; a token from before a sign-in dies
with it; over https every hub cookie is `__Host-` (Secure, Path=/, no Domain), which no sibling
host can set, and the sign-in still works end to end."""

from __future__ import annotations

from dataclasses import replace

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from hub.demo import DEMO_PASSWORD
from hub.oidc.models import BrowserSession
from idp import create_app
from idp.extensions import db
from idp.web.csrf import MESSAGE as CSRF_MESSAGE
from tests.idp.signing_in import csrf_token_of, submit_login

NEW_PASSWORD = "Un-Autre-Mot-de-passe-2027"
HTTPS = "https://localhost"


def live_sessions(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(BrowserSession).filter_by(ended_at=None))


def csrf_refused(response) -> None:
    assert response.status_code == 400, response.text[:300]
    assert str(escape(CSRF_MESSAGE)) in response.text


def planted_pair(app) -> tuple[str, str]:
    """What an attacker gets from the hub in a browser of their own: a token and the signed
    cookie that goes with it."""
    attacker = app.test_client()
    token = csrf_token_of(attacker.get("/login").text)
    return token, attacker.get_cookie("hub_csrf").value


def test_a_planted_pair_cannot_sign_a_person_out(app, client, session, demo, sign_in_as):
    sign_in_as(client, "alice.martin")
    token, cookie = planted_pair(app)
    client.set_cookie("hub_csrf", cookie, domain="localhost")

    response = client.post("/logout", data={"confirm": "1", "csrf_token": token})

    csrf_refused(response)
    assert live_sessions(session) == 1


def test_a_planted_pair_cannot_change_a_signed_in_persons_password(
    app, client, session, demo, sign_in_as
):
    sign_in_as(client, "alice.martin")
    token, cookie = planted_pair(app)
    client.set_cookie("hub_csrf", cookie, domain="localhost")

    response = client.post(
        "/password/change",
        data={
            "csrf_token": token,
            "current_password": DEMO_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirmation": NEW_PASSWORD,
        },
    )

    csrf_refused(response)
    assert submit_login(app.test_client(), "alice.martin").status_code == 303  # unchanged


def test_the_signed_in_persons_own_form_signs_them_out(client, session, demo, sign_in_as):
    sign_in_as(client, "alice.martin")
    token = csrf_token_of(client.get("/logout").text)  # « Voulez-vous vous déconnecter ? »

    response = client.post("/logout", data={"confirm": "1", "csrf_token": token})

    assert response.status_code == 200
    assert live_sessions(session) == 0


def test_a_token_from_before_the_sign_in_is_refused_after_it(client, session, demo):
    before = csrf_token_of(client.get("/login").text)
    submit_login(client, "alice.martin")

    response = client.post("/logout", data={"confirm": "1", "csrf_token": before})

    csrf_refused(response)
    assert live_sessions(session) == 1


def test_signing_in_and_out_drops_the_anonymous_token(client, demo):
    client.get("/login")
    signed_in = submit_login(client, "alice.martin")

    assert client.get_cookie("hub_csrf") is None
    assert any(h.startswith("hub_csrf=;") for h in signed_in.headers.getlist("Set-Cookie"))
    token = csrf_token_of(client.get("/logout").text)
    client.post("/logout", data={"confirm": "1", "csrf_token": token})

    fresh = csrf_token_of(client.get("/login").text)
    assert fresh not in (token, "")
    assert client.get_cookie("hub_csrf") is not None


def test_over_http_the_cookie_names_stay_plain(client, demo):
    page = client.get("/login")
    signed_in = submit_login(client, "alice.martin")

    assert page.headers["Set-Cookie"].startswith("hub_csrf=")
    assert any(h.startswith("hub_sso=") for h in signed_in.headers.getlist("Set-Cookie"))


@pytest.fixture
def https_hub(settings, session_factory):
    app = create_app(replace(settings, public_url="https://hub.example"), TESTING=True)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_over_https_every_hub_cookie_is_host_prefixed_and_sign_in_works(https_hub, demo):
    client = https_hub.test_client()

    page = client.get("/login", base_url=HTTPS)
    signed_in = client.post(
        "/login",
        base_url=HTTPS,
        data={
            "csrf_token": csrf_token_of(page.text),
            "username": "alice.martin",
            "password": DEMO_PASSWORD,
        },
    )
    change = client.get("/password/change", base_url=HTTPS)
    logout_page = client.get("/logout", base_url=HTTPS)
    logged_out = client.post(
        "/logout",
        base_url=HTTPS,
        data={"confirm": "1", "csrf_token": csrf_token_of(logout_page.text)},
    )

    set_cookies = page.headers.getlist("Set-Cookie") + signed_in.headers.getlist("Set-Cookie")
    names = {header.split("=", 1)[0] for header in set_cookies}
    assert names == {"__Host-hub_csrf", "__Host-hub_sso"}
    for header in set_cookies:
        attributes = [part.strip() for part in header.split(";")]
        assert "Secure" in attributes
        assert "Path=/" in attributes
        assert not any(part.lower().startswith("domain=") for part in attributes)
    assert signed_in.status_code == 303
    assert change.status_code == 200
    assert "alice.martin" in change.text
    assert logged_out.status_code == 200
    [expired] = [h for h in logged_out.headers.getlist("Set-Cookie") if "__Host-hub_sso=" in h]
    assert "Secure" in expired  # or the browser would keep the cookie
    assert client.get("/password/change", base_url=HTTPS).status_code == 302


def test_over_https_a_plain_named_cookie_is_not_a_session(https_hub, session, demo, sign_in_as):
    """A `hub_sso` cookie, which a sibling host could set, is not read over https."""
    client = https_hub.test_client()
    sign_in_as(client, "alice.martin")  # sets the plain name

    assert client.get("/password/change", base_url=HTTPS).status_code == 302
