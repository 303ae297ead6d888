"""Server-side portal sessions: the cookie only carries a signed random key (HttpOnly,
SameSite=Lax, one name per portal); a tampered cookie is logged and treated as no session; a
session that ended is never brought back by a request that was already running."""

from __future__ import annotations

import logging

from portals.kit.clock import utcnow
from portals.kit.extension import EXTENSION
from portals.kit.sessions import store
from tests.portals.conftest import account, claims, session_exists, sign_in


def test_a_visitor_gets_no_session_until_one_is_needed(app, client):
    response = client.get("/")

    assert "Set-Cookie" not in response.headers
    with app.extensions[EXTENSION].engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM portal_sessions").scalar() == 0


def test_session_cookie_is_httponly_lax_and_named_for_the_portal(make_app):
    app = make_app("certificateurs", cookie_secure=True)
    client = app.test_client()

    response = client.get("/auth/login")  # the sign-in's state needs a session

    cookie = response.headers.get("Set-Cookie", "")
    assert cookie.startswith("certificateurs_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie


def test_the_cookie_holds_a_signed_key_and_the_database_only_its_digest(app, client):
    key = sign_in(app, client, claims(account()))

    cookie = client.get_cookie("soltea_session").value
    assert cookie.startswith(key + ".")  # key, then its signature
    engine = app.extensions[EXTENSION].engine
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT key_hash FROM portal_sessions").scalars().all()
    assert stored == [store.key_hash(key)]


def test_tampered_cookie_is_logged_and_treated_as_no_session(app, client, caplog):
    key = sign_in(app, client, claims(account()))
    signed = client.get_cookie("soltea_session").value
    client.set_cookie("soltea_session", signed[:-2] + "xx", domain="localhost")

    with caplog.at_level(logging.WARNING, logger="portals.security"):
        page = client.get("/")

    assert page.status_code == 200
    assert "Me connecter" in page.text
    assert "Alice Martin" not in page.text
    assert "tampered session cookie soltea_session" in caplog.text
    assert session_exists(app, key)  # a forged cookie ends nobody's session
    assert page.headers["Set-Cookie"].startswith("soltea_session=;")  # and is dropped


def test_a_cookie_forged_with_another_portals_key_is_refused(make_app):
    soltea, certificateurs = make_app("soltea"), make_app("certificateurs")
    client = soltea.test_client()
    key = sign_in(soltea, client, claims(account()))
    forged = certificateurs.session_interface.signer.sign(key).decode()
    client.set_cookie("soltea_session", forged, domain="localhost")

    assert "Me connecter" in client.get("/").text


def test_a_well_signed_key_that_ended_opens_nothing(app, client):
    key = sign_in(app, client, claims(account()))
    store.end(app.extensions[EXTENSION].engine, store.key_hash(key))

    assert "Me connecter" in client.get("/").text


def test_an_ended_session_is_not_written_back_by_a_running_request(app, client):
    key = sign_in(app, client, claims(account()))
    engine = app.extensions[EXTENSION].engine
    store.end(engine, store.key_hash(key))

    assert store.save_data(engine, store.key_hash(key), {"csrf_token": "x"}, now=utcnow()) is False
    assert not session_exists(app, key)
