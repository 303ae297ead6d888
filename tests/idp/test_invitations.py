"""The invitation page (R2 « Créer un compte », issue 12 §2): the person an administrator invited
accepts from the mailed link — someone known signs in and accepts in one click, someone new
chooses a password, which proves the mailbox is theirs and signs them in. Nothing exists on the
portal before; the link serves once, expires, and dies when sent again or cancelled."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from hub.accounts import invitations
from hub.accounts.models import Account, Invitation, Right, Role
from hub.actors import System
from hub.clock import utcnow
from hub.mail.models import OutboxMessage
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.models import User
from hub.users.services import create_user
from tests.idp.signing_in import audit_events, csrf_token_of, session_cookie_header, submit_login

PASSWORD = "Premier-Jour-Au-Portail-7"
ADMIN = System("test-admin")
DENIS = {
    "email": "denis.blanc@alpha.example",
    "civility": "M.",
    "first_name": "Denis",
    "last_name": "Blanc",
    "service": "Qualité",
}


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


@pytest.fixture
def invite(session, settings, demo):
    """`invite(existing=…)` or `invite(person=…)`: Alpha invites someone to SOLTÉA; returns the
    invitation and the path of the link mailed (None when it reached nobody)."""

    def invite_(**typed) -> tuple[Invitation, str | None]:
        invitation = invitations.invite(
            session,
            by=ADMIN,
            structure=session.scalar(select(Structure).filter_by(matricule="100001")),
            portal=session.scalar(select(Portal).filter_by(code="soltea")),
            now=utcnow(),
            links=invitations.links(settings.secret_key, settings.public_url),
            role=typed.pop("role", Role.USER),
            **typed,
        )
        session.commit()
        mail = session.scalar(
            select(OutboxMessage)
            .filter_by(template="account_invitation")
            .order_by(OutboxMessage.id.desc())
        )
        link = re.search(r"http://127\.0\.0\.1:5000(/invitation/\S+)", mail.text_body)
        return invitation, link.group(1) if link else None

    return invite_


def soltea_account(session, username: str) -> Account | None:
    session.rollback()
    return session.scalar(
        select(Account)
        .join(Account.user)
        .join(Account.portal)
        .where(User.username == username, Portal.code == "soltea")
    )


def choose(client, path: str, password: str):
    page = client.get(path)
    data = {"csrf_token": csrf_token_of(page.text), "password": password}
    return client.post(path, data={**data, "password_confirmation": password})


def test_r2_a_new_person_chooses_a_password_and_the_account_opens(client, session, invite):
    _, path = invite(person=DENIS)

    page = client.get(path)
    welcome = choose(client, path, PASSWORD)

    assert "Bienvenue : choisissez votre mot de passe" in page.text
    assert "<strong>denis.blanc</strong>" in page.text  # the identifiant they will have
    assert "au moins 12 caractères" in page.text
    assert welcome.status_code == 200
    assert "Votre identifiant est denis.blanc" in welcome.text
    assert 'href="http://127.0.0.1:5001"' in welcome.text  # « Aller sur SOLTÉA »
    assert session_cookie_header(welcome)  # signed in at the hub
    account = soltea_account(session, "denis.blanc")
    assert (account.role, account.rights) == (Role.USER, frozenset({Right.DATA_EXCHANGE}))
    user = account.user
    assert (user.email, user.email_verified, user.service) == (DENIS["email"], True, "Qualité")
    [accepted] = audit_events(session, "account.invitation_accepted")
    assert (accepted.actor, accepted.portal) == ("denis.blanc", "soltea")
    fresh = client.application.test_client()
    assert submit_login(fresh, "denis.blanc", PASSWORD).status_code == 303


def test_r2_a_known_person_signs_in_then_accepts_in_one_click(client, session, invite):
    invitation, path = invite(existing="chloe.roux", role=Role.ADMIN)

    first = client.get(path)
    next_path = parse_qs(urlsplit(first.headers["Location"]).query)["next"][0]
    signed_in = submit_login(client, "chloe.roux", next=next_path)
    page = client.get(path)
    before = soltea_account(session, "chloe.roux")
    done = client.post(path, data={"csrf_token": csrf_token_of(page.text)})

    assert first.status_code == 303
    assert next_path == path
    assert signed_in.headers["Location"] == path
    assert "à rejoindre sa structure sur SOLTÉA" in " ".join(page.text.split())
    assert "<strong>chloe.roux</strong>" in page.text
    assert "Accepter l&#39;invitation" in page.text or "Accepter l'invitation" in page.text
    assert before is None  # nothing before the click
    assert done.status_code == 200
    assert "Votre compte sur SOLTÉA pour Organisme Alpha Formation est ouvert" in done.text
    assert soltea_account(session, "chloe.roux").role is Role.ADMIN
    assert client.get(path).status_code == 409  # accepted: the link is spent
    assert session.get(Invitation, invitation.id).status.value == "accepted"


def test_r2_only_the_person_invited_can_accept(client, session, invite):
    _, path = invite(existing="chloe.roux")
    submit_login(client, "bruno.petit")

    shown = client.get(path)
    posted = client.post(path, data={"csrf_token": csrf_token_of(client.get("/login").text)})

    assert shown.status_code == posted.status_code == 303
    assert shown.headers["Location"].startswith("/login?next=")
    assert soltea_account(session, "chloe.roux") is None


def test_r14_a_temporary_password_is_replaced_before_accepting(client, session, invite):
    _, path = invite(existing="chloe.roux")
    submit_login(client, "chloe.roux")
    session.rollback()
    chloe = session.scalar(select(User).filter_by(username="chloe.roux"))
    chloe.password_must_change = True  # as after signing in with a temporary password (R14)
    session.commit()

    response = client.get(path)

    assert response.status_code == 303
    assert response.headers["Location"] == f"/password/new?next={path}"


def test_a_person_invited_before_choosing_any_password_chooses_one(client, session, invite):
    """Someone whose identity exists without a password (invited under the earlier model)
    accepts by choosing one, like a new person, and keeps their identifiant."""
    create_user(session, by=ADMIN, now=utcnow(), **DENIS)
    session.commit()
    _, path = invite(existing="denis.blanc")

    welcome = choose(client, path, PASSWORD)

    assert "Votre identifiant est denis.blanc" in welcome.text
    assert soltea_account(session, "denis.blanc") is not None


def test_an_invitation_sent_again_kills_the_old_link(client, session, settings, invite):
    invitation, old = invite(person=DENIS)
    invitations.send_again(
        session,
        session.get(Invitation, invitation.id),
        by=ADMIN,
        links=invitations.links(settings.secret_key, settings.public_url),
        now=utcnow(),
    )
    session.commit()

    assert client.get(old).status_code == 404


def test_a_cancelled_invitation_opens_nothing(client, session, invite):
    invitation, path = invite(person=DENIS)
    invitations.cancel(session, session.get(Invitation, invitation.id), by=ADMIN, now=utcnow())
    session.commit()

    refused = client.get(path)

    assert refused.status_code == 404
    assert "Ce lien d&#39;invitation n&#39;est pas valable" in refused.text


def test_an_invitation_expires_after_seven_days(client, invite, time_machine):
    _, path = invite(person=DENIS)
    time_machine.move_to(utcnow() + timedelta(days=7, seconds=1), tick=False)

    expired = client.get(path)

    assert expired.status_code == 410
    assert "Demandez à votre administrateur de vous renvoyer" in expired.text


def test_a_tampered_invitation_opens_nothing(client, invite):
    _, path = invite(person=DENIS)

    assert client.get(path[:-3] + "abc").status_code == 404
    assert client.get("/invitation/" + "x" * 2000).status_code == 404


def test_a_weak_password_is_refused_and_the_link_still_works(client, invite):
    _, path = invite(person=DENIS)

    refused = choose(client, path, "court")

    assert "au moins 12 caractères" in refused.text
    assert client.get(path).status_code == 200


def test_accepting_needs_the_forms_csrf_token(client, session, invite):
    _, path = invite(person=DENIS)

    response = client.post(path, data={"password": PASSWORD, "password_confirmation": PASSWORD})

    assert response.status_code == 400
    assert client.get(path).status_code == 200
    assert soltea_account(session, "denis.blanc") is None
