"""The hub's sign-in page (issue 3 §4, R14): one identifiant and one password for every portal,
one generic answer for every wrong credential, a new session id at each sign-in, no open
redirect, CSRF on the form."""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import replace

import pytest
from sqlalchemy import select

from hub.actors import System
from hub.config import PasswordHashing
from hub.demo import DEMO_PASSWORD
from hub.oidc.models import BrowserSession
from hub.passwords import hash_password, needs_rehash
from hub.users.models import User
from hub.users.services import create_user
from idp.auth.forms import LOGIN_MISSING, PASSWORD_MISSING, WRONG_CREDENTIALS
from idp.web.csrf import MESSAGE as CSRF_MESSAGE
from idp.web.sessions import COOKIE_NAME
from tests.conftest import LIGHT_HASHING
from tests.idp.signing_in import (
    audit_events,
    comparable,
    csrf_token_of,
    next_of,
    session_cookie_header,
    submit_login,
)

AUTHORIZE = "/authorize?response_type=code&client_id=soltea&scope=openid&state=xyz"


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


def live_sessions(session, username: str) -> list[BrowserSession]:
    session.rollback()
    session.expire_all()
    return list(
        session.scalars(
            select(BrowserSession)
            .join(User)
            .where(User.username == username, BrowserSession.ended_at.is_(None))
        )
    )


def test_r14_sign_in_sets_a_new_session_cookie_and_goes_back_to_next(client, session, demo):
    response = submit_login(client, "alice.martin", next=AUTHORIZE)

    assert response.status_code == 303
    assert response.headers["Location"] == AUTHORIZE
    cookie = session_cookie_header(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http://127.0.0.1 in development
    assert len(live_sessions(session, "alice.martin")) == 1
    home = client.get("/")
    assert "Vous êtes connecté en tant que Alice Martin (alice.martin)" in home.text
    assert 'href="/logout">Se déconnecter</a>' in home.text


def test_without_next_sign_in_lands_on_the_home_page(client, demo):
    response = submit_login(client, "bruno.petit")

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert "Vous êtes connecté en tant que Bruno Petit (bruno.petit)" in client.get("/").text


def test_the_session_id_changes_at_each_sign_in(client, session, demo):
    submit_login(client, "alice.martin")
    first = client.get_cookie(COOKIE_NAME).value

    submit_login(client, "alice.martin")
    second = client.get_cookie(COOKIE_NAME).value

    assert second != first
    assert len(live_sessions(session, "alice.martin")) == 1  # the previous one was ended
    client.set_cookie(COOKIE_NAME, first, domain="localhost")
    old = client.get("/")
    assert old.status_code == 302
    assert old.headers["Location"] == "/login"


def test_a_session_started_elsewhere_is_not_carried_over_a_sign_in(
    client, session, demo, sign_in_as
):
    planted = sign_in_as(client, "bruno.petit")  # e.g. a cookie fixed by an attacker
    before = client.get_cookie(COOKIE_NAME).value

    submit_login(client, "alice.martin")

    assert client.get_cookie(COOKIE_NAME).value != before
    assert "(alice.martin)" in client.get("/").text
    client.set_cookie(COOKIE_NAME, before, domain="localhost")
    assert client.get("/").status_code == 302
    session.refresh(planted)
    assert planted.ended_at is not None


def test_sign_in_with_the_email_address_in_any_case(client, demo):
    response = submit_login(client, "  Chloe.Roux@Alpha.example ")

    assert response.status_code == 303
    assert "Vous êtes connecté en tant que Chloé Roux (chloe.roux)" in client.get("/").text


def test_unknown_identifiant_and_wrong_password_get_the_same_answer(app, demo):
    unknown = submit_login(app.test_client(), "personne.inconnue", "Demo-Password-2026!")
    wrong = submit_login(app.test_client(), "alice.martin", "not-the-password")

    assert unknown.status_code == wrong.status_code == 200
    assert WRONG_CREDENTIALS in unknown.text
    assert comparable(unknown.text) == comparable(wrong.text)
    assert COOKIE_NAME not in unknown.headers.get("Set-Cookie", "")
    assert COOKIE_NAME not in wrong.headers.get("Set-Cookie", "")


def test_a_person_without_a_password_yet_gets_the_generic_answer(app, session, demo, now):
    create_user(
        session,
        by=System("test"),
        email="denis.blanc@alpha.example",
        first_name="Denis",
        last_name="Blanc",
        username="denis.blanc",
        now=now,
    )
    session.commit()

    nobody = submit_login(app.test_client(), "personne.inconnue", "")
    invited = submit_login(app.test_client(), "denis.blanc", "anything")
    unknown = submit_login(app.test_client(), "personne.inconnue", "anything")

    assert nobody.status_code == 200  # an empty password is a field to fill, not a failure
    assert invited.status_code == unknown.status_code == 200
    assert comparable(invited.text) == comparable(unknown.text)
    assert WRONG_CREDENTIALS in invited.text


def test_the_failed_form_keeps_the_identifiant_and_links_the_error(client, demo):
    response = submit_login(client, "alice.martin", "wrong", next=AUTHORIZE)

    assert 'value="alice.martin"' in response.text
    assert 'aria-describedby="username-aide erreur-connexion"' in response.text
    assert 'id="erreur-connexion" class="erreur" role="alert"' in response.text
    assert 'name="next" value="/authorize?response_type=code&amp;client_id=soltea' in response.text
    assert "Connexion à SOLTÉA" in response.text


def test_empty_fields_are_pointed_at_without_counting_a_failure(client, session, demo):
    page = client.get("/login")
    response = client.post(
        "/login", data={"csrf_token": csrf_token_of(page.text), "username": " ", "password": ""}
    )

    assert response.status_code == 200
    assert LOGIN_MISSING in response.text
    assert PASSWORD_MISSING in response.text
    assert 'aria-describedby="username-aide username-erreur"' in response.text
    assert 'aria-describedby="password-erreur"' in response.text
    assert audit_events(session, "session.sign_in_failed") == []


@pytest.mark.parametrize(
    ("login", "password"),
    [
        ("a" * 255, DEMO_PASSWORD),  # longer than any e-mail address
        ("alice.martin", "x" * 1025),
    ],
    ids=["long-identifiant", "long-password"],
)
def test_bad_credentials_input_gets_the_generic_answer(client, session, demo, login, password):
    response = submit_login(client, login, password)

    assert response.status_code == 200
    assert WRONG_CREDENTIALS in response.text
    [event] = audit_events(session, "session.sign_in_failed")
    assert event.after["reason"] == "invalid_input"
    assert "\x00" not in event.after["identifiant"]
    assert len(event.after["identifiant"]) <= 100


def test_without_the_csrf_token_nobody_is_signed_in(client, session, demo):
    client.get("/login")

    missing = client.post("/login", data={"username": "alice.martin", "password": DEMO_PASSWORD})
    wrong = client.post(
        "/login",
        data={"username": "alice.martin", "password": DEMO_PASSWORD, "csrf_token": "forged"},
    )

    for response in (missing, wrong):
        assert response.status_code == 400
        assert CSRF_MESSAGE in response.text
        assert '<html lang="fr">' in response.text
        assert COOKIE_NAME not in response.headers.get("Set-Cookie", "")
    assert live_sessions(session, "alice.martin") == []
    assert audit_events(session, "session.sign_in") == []


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "http:/evil.example",
    ],
)
def test_next_outside_the_hub_is_ignored(client, demo, target):
    response = submit_login(client, "alice.martin", next=target)

    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_the_page_names_the_portal_and_prefills_the_login_hint(client, demo):
    page = client.get(
        "/login", query_string={"next": "/authorize?client_id=soltea&login_hint=bruno.petit"}
    )

    assert page.status_code == 200
    assert '<h1 id="titre">Connexion à SOLTÉA</h1>' in page.text
    assert 'value="bruno.petit"' in page.text
    register = (
        'href="/register?portal=soltea&amp;next=%2Fauthorize%3Fclient_id%3Dsoltea%26login_hint'
        '%3Dbruno.petit">Créer un compte</a>'
    )
    assert register in page.text  # registering comes back to the same sign-in (R12)


def test_the_plain_page_has_the_fields_and_links(client, demo):
    page = client.get("/login")

    assert '<h1 id="titre">Connexion</h1>' in page.text
    assert '<label for="username">Identifiant</label>' in page.text
    assert 'autocomplete="username"' in page.text
    assert '<label for="password">Mot de passe</label>' in page.text
    assert 'autocomplete="current-password"' in page.text
    assert '<button type="submit">Me connecter</button>' in page.text
    assert '<a href="/password/forgot">Mot de passe oublié ?</a>' in page.text
    assert '<h2 id="titre-creation">Création de compte</h2>' in page.text
    assert '<a href="/register">Créer un compte</a>' in page.text


def test_an_unknown_client_in_next_names_no_portal(client, demo):
    page = client.get("/login", query_string={"next": "/authorize?client_id=inconnu"})

    assert '<h1 id="titre">Connexion</h1>' in page.text
    assert 'name="next" value="/authorize?client_id=inconnu"' in page.text


def test_sign_in_and_failures_are_audited(client, session, demo):
    submit_login(client, "alice.martin", "wrong", next="/authorize?client_id=certificateurs")
    submit_login(client, "alice.martin", next="/authorize?client_id=certificateurs")

    [failure] = audit_events(session, "session.sign_in_failed")
    assert failure.actor == "anonyme"
    assert failure.target == "alice.martin"
    assert failure.portal == "certificateurs"
    assert failure.after == {
        "identifiant": "alice.martin",
        "ip": "127.0.0.1",
        "reason": "wrong_password",
    }
    [success] = audit_events(session, "session.sign_in")
    assert success.actor == "alice.martin"
    assert success.portal == "certificateurs"
    assert success.after == {"ip": "127.0.0.1"}


def test_a_hash_made_with_older_parameters_is_renewed_at_sign_in(client, session, demo):
    alice = session.scalar(select(User).filter_by(username="alice.martin"))
    older = replace(LIGHT_HASHING, time_cost=2)
    alice.password_hash = hash_password(DEMO_PASSWORD, older)
    session.commit()

    assert submit_login(client, "alice.martin").status_code == 303

    session.refresh(alice)
    assert not needs_rehash(alice.password_hash, LIGHT_HASHING)
    assert submit_login(client, "alice.martin").status_code == 303


def test_home_without_a_session_sends_to_the_sign_in_page(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login"


def test_a_signed_in_person_may_still_open_the_sign_in_page(client, demo, sign_in_as):
    sign_in_as(client, "alice.martin")

    assert client.get("/login").status_code == 200


@pytest.fixture
def costly_app(settings, session_factory):
    """The app with hashing costly enough (~30 ms) for the hash to dominate a request."""
    from idp import create_app
    from idp.extensions import db

    costly = PasswordHashing(time_cost=2, memory_cost=32768, parallelism=1)
    app = create_app(replace(settings, passwords=costly), TESTING=True)
    yield app, costly
    with app.app_context():
        db.engine.dispose()


def fastest(client, login: str, password: str, attempts: int = 3) -> float:
    durations = []
    for _ in range(attempts):
        started = time.perf_counter()
        response = submit_login(client, login, password)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200
    return min(durations)


def test_an_unknown_identifiant_costs_a_hash_like_a_wrong_password(costly_app, session, demo):
    app, costly = costly_app
    alice = session.scalar(select(User).filter_by(username="alice.martin"))
    alice.password_hash = hash_password(DEMO_PASSWORD, costly)
    session.commit()
    client = app.test_client()
    submit_login(client, "warm.up", "x")  # the dummy hash is made once per process

    wrong = fastest(client, "alice.martin", "not-the-password")
    unknown = fastest(client, "personne.inconnue", "not-the-password")

    # Without a dummy verification the unknown identifiant would answer several times faster.
    assert unknown > 0.6 * wrong, (unknown, wrong)


def test_authorize_shows_the_page_that_names_the_portal_and_comes_back(client, demo):
    verifier = "v" * 50
    digest = hashlib.sha256(verifier.encode()).digest()
    authorize = client.get(
        "/authorize",
        query_string={
            "response_type": "code",
            "client_id": "soltea",
            "redirect_uri": "http://127.0.0.1:5001/auth/callback",
            "scope": "openid",
            "state": "s",
            "code_challenge": base64.urlsafe_b64encode(digest).rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            "login_hint": "alice.martin",
        },
    )
    next_path = next_of(authorize.text)

    signed_in = submit_login(client, "alice.martin", next=next_path)
    back = client.get(signed_in.headers["Location"])

    assert "Connexion à SOLTÉA" in authorize.text
    assert 'value="alice.martin"' in authorize.text
    assert signed_in.headers["Location"] == next_path
    assert back.headers["Location"].startswith("http://127.0.0.1:5001/auth/callback?code=")
