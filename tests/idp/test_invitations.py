"""The invitation page (issue 6 §3): a person an administrator created (R2) chooses their
password from the mailed link, which proves the mailbox is theirs and signs them in; the link
serves once and expires."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts.services import open_account
from hub.actors import System
from hub.clock import utcnow
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.invitations import Invitations
from hub.users.models import User
from hub.users.services import create_user
from idp.auth.invitations import INVALID
from tests.idp.signing_in import audit_events, csrf_token_of, session_cookie_header, submit_login

PASSWORD = "Premier-Jour-Au-Portail-7"


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


@pytest.fixture
def invited(session, settings, demo) -> tuple[User, str]:
    """Denis, given a SOLTÉA account at Alpha without a password, and his invitation path."""
    now = utcnow()
    user = create_user(
        session, by=System("test"), email="denis.blanc@alpha.example", first_name="Denis",
        last_name="Blanc", now=now,
    )  # fmt: skip
    open_account(
        session,
        by=System("test"),
        user=user,
        structure=session.scalar(select(Structure).filter_by(matricule="100001")),
        portal=session.scalar(select(Portal).filter_by(code="soltea")),
        now=now,
        notify=False,
    )
    link = Invitations(settings.secret_key, settings.public_url).link(user, now=now)
    session.commit()
    return user, link.url.removeprefix(settings.public_url)


def choose(client, path: str, password: str):
    page = client.get(path)
    data = {"csrf_token": csrf_token_of(page.text), "password": password}
    return client.post(path, data={**data, "password_confirmation": password})


def test_the_invited_person_chooses_a_password_and_is_signed_in(client, session, invited):
    user, path = invited

    page = client.get(path)
    welcome = choose(client, path, PASSWORD)

    assert "Bienvenue : choisissez votre mot de passe" in page.text
    assert "denis.blanc" in page.text
    assert "au moins 12 caractères" in page.text
    assert welcome.status_code == 200
    assert "Votre identifiant est denis.blanc" in welcome.text
    assert 'href="http://127.0.0.1:5001"' in welcome.text  # « Aller sur SOLTÉA »
    assert session_cookie_header(welcome)  # signed in at the hub
    session.rollback()
    assert session.scalar(select(User.email_verified).where(User.id == user.id))
    assert len(audit_events(session, "user.invitation_accepted")) == 1
    assert (
        submit_login(client.application.test_client(), "denis.blanc", PASSWORD).status_code == 303
    )


def test_an_invitation_serves_once(client, invited):
    _, path = invited
    choose(client, path, PASSWORD)

    again = client.application.test_client().get(path)

    assert again.status_code == 404
    assert INVALID.replace("'", "&#39;") in again.text


def test_an_invitation_expires_after_seven_days(client, invited, time_machine):
    _, path = invited
    time_machine.move_to(utcnow() + timedelta(days=7, seconds=1), tick=False)

    assert client.get(path).status_code == 404


def test_a_tampered_invitation_opens_nothing(client, invited):
    _, path = invited

    assert client.get(path[:-3] + "abc").status_code == 404
    assert client.get("/invitation/" + "x" * 2000).status_code == 404


def test_a_weak_password_is_refused_and_the_link_still_works(client, invited):
    _, path = invited

    refused = choose(client, path, "court")

    assert "au moins 12 caractères" in refused.text
    assert client.get(path).status_code == 200


def test_choosing_needs_the_forms_csrf_token(client, invited):
    _, path = invited

    response = client.post(path, data={"password": PASSWORD, "password_confirmation": PASSWORD})

    assert response.status_code == 400
    assert client.get(path).status_code == 200
