"""Changing one's e-mail address (issue 6 §2, R6): `PATCH /api/v1/me` with `email` changes
nothing yet — it mails a validation link to the new address and a notice to the old one; the
address changes when the link is followed and confirmed, once, within 24 hours."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.clock import utcnow
from hub.email_changes.models import EmailChange
from hub.mail.models import OutboxMessage
from hub.oidc.clients import find_client
from hub.oidc.models import OAuthToken
from hub.oidc.secrets import digest, new_secret
from hub.users.models import User
from tests.idp.signing_in import audit_events, csrf_token_of

NEW = "alice.martin@nouvelle.example"
LINK = re.compile(r"https?://\S+(/email/confirm/\S+)")


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


@pytest.fixture
def bearer(session, settings, demo):
    """The Authorization header of an access token issued to `client_id` for `username`."""

    def issue(username="alice.martin", client_id="certificateurs"):
        user = session.scalar(select(User).filter_by(username=username))
        now, raw = utcnow(), new_secret()
        session.add(
            OAuthToken(
                access_token_hash=digest(raw),
                family=new_secret(12),
                client_id=find_client(session, client_id).id,
                user_id=user.id,
                scope="openid profile email accounts",
                auth_time=now,
                issued_at=now,
                access_expires_at=now + timedelta(seconds=settings.oidc.access_token_seconds),
            )
        )
        session.commit()
        return {"Authorization": f"Bearer {raw}"}

    return issue


def email_of(session, username="alice.martin") -> str:
    session.rollback()
    return session.scalar(select(User.email).filter_by(username=username))


def mail(session, template: str) -> OutboxMessage:
    session.rollback()
    (message,) = session.scalars(select(OutboxMessage).filter_by(template=template)).all()
    return message


def confirmation_link(session) -> str:
    """The link of the first validation mail."""
    session.rollback()
    body = session.scalars(
        select(OutboxMessage.text_body)
        .filter_by(template="email_change_validation")
        .order_by(OutboxMessage.id)
    ).first()
    return LINK.search(body).group(1)


def confirm(client, link: str):
    """The page behind the link, and its button pressed when it shows one."""
    page = client.get(link)
    if 'name="csrf_token"' not in page.text:
        return page
    return client.post(link, data={"csrf_token": csrf_token_of(page.text)})


def test_a_new_email_is_mailed_for_validation_and_not_applied(client, session, bearer):
    response = client.patch(
        "/api/v1/me", json={"email": NEW, "service": "Qualité"}, headers=bearer()
    )

    assert response.status_code == 200
    assert response.get_json()["email"] == "alice.martin@alpha.example"
    assert response.get_json()["service"] == "Qualité"  # the rest applies at once
    assert email_of(session) == "alice.martin@alpha.example"
    validation = mail(session, "email_change_validation")
    assert validation.recipient == NEW
    assert validation.subject == "Confirmez votre nouvelle adresse e-mail"
    assert "valable jusqu'au 24/11/2026 à 11:00" in validation.text_body
    notice = mail(session, "email_change_notice")
    assert notice.recipient == "alice.martin@alpha.example"
    assert NEW in notice.text_body
    (event,) = audit_events(session, "user.email_change_request")
    assert (event.before, event.after, event.via_portal) == (
        {"email": "alice.martin@alpha.example"},
        {"email": NEW},
        "certificateurs",
    )


def test_following_the_link_and_confirming_changes_the_address_once(client, session, bearer):
    client.patch("/api/v1/me", json={"email": NEW}, headers=bearer())
    link = confirmation_link(session)

    page = client.get(link)
    assert email_of(session) == "alice.martin@alpha.example"  # a GET changes nothing
    done = client.post(link, data={"csrf_token": csrf_token_of(page.text)})
    again = confirm(client, link)

    assert "Confirmer ma nouvelle adresse" in page.text
    assert NEW in page.text
    assert done.status_code == 200
    assert f"Votre adresse e-mail est désormais {NEW}." in done.text
    assert 'href="http://127.0.0.1:5002"' in done.text  # back to the portal it was asked from
    assert email_of(session) == NEW
    assert session.scalar(select(User.email_verified).filter_by(email=NEW))
    assert again.status_code == 409
    assert "Ce lien a déjà servi" in again.text
    assert len(audit_events(session, "user.email_change")) == 1


def test_an_expired_link_changes_nothing(client, session, bearer, time_machine, now):
    client.patch("/api/v1/me", json={"email": NEW}, headers=bearer())
    link = confirmation_link(session)
    time_machine.move_to(now + timedelta(hours=24), tick=False)

    refused = client.get(link)

    assert refused.status_code == 410
    assert "Ce lien de confirmation a expiré" in refused.text
    assert email_of(session) == "alice.martin@alpha.example"


def test_a_tampered_link_changes_nothing(client, session, bearer):
    client.patch("/api/v1/me", json={"email": NEW}, headers=bearer())
    link = confirmation_link(session)

    refused = client.get(link[:-3] + "abc")

    assert refused.status_code == 404
    assert email_of(session) == "alice.martin@alpha.example"


def test_a_link_from_before_another_change_is_stale(client, session, bearer):
    client.patch("/api/v1/me", json={"email": NEW}, headers=bearer())
    first = confirmation_link(session)
    client.patch("/api/v1/me", json={"email": "alice@autre.example"}, headers=bearer())
    session.rollback()
    latest = session.scalars(
        select(OutboxMessage.text_body)
        .filter_by(template="email_change_validation")
        .order_by(OutboxMessage.id.desc())
    ).first()
    confirm(client, LINK.search(latest).group(1))

    stale = confirm(client, first)

    assert stale.status_code == 410
    assert email_of(session) == "alice@autre.example"


def test_an_address_used_by_someone_else_is_refused_at_once(client, session, bearer):
    response = client.patch(
        "/api/v1/me", json={"email": "Bruno.Petit@alpha.example"}, headers=bearer()
    )

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_field",
        "message": "Cette adresse e-mail est déjà utilisée par une autre personne.",
        "field": "email",
    }
    session.rollback()
    assert session.scalars(select(EmailChange)).all() == []
    assert session.scalars(select(OutboxMessage)).all() == []


def test_the_current_address_or_a_bad_one_mails_nothing(client, session, bearer):
    same = client.patch(
        "/api/v1/me", json={"email": "Alice.Martin@alpha.example"}, headers=bearer()
    )
    bad = client.patch("/api/v1/me", json={"email": "pas-une-adresse"}, headers=bearer())
    not_text = client.patch("/api/v1/me", json={"email": 42}, headers=bearer())

    assert same.status_code == 200
    assert bad.status_code == not_text.status_code == 400
    assert bad.get_json()["field"] == not_text.get_json()["field"] == "email"
    session.rollback()
    assert session.scalars(select(OutboxMessage)).all() == []


def test_requests_are_limited_to_five_a_day(client, session, bearer):
    headers = bearer()
    answers = [
        client.patch("/api/v1/me", json={"email": f"alice{n}@nouvelle.example"}, headers=headers)
        for n in range(6)
    ]

    assert [a.status_code for a in answers] == [200] * 5 + [400]
    assert "trop de changements d'adresse e-mail" in answers[-1].get_json()["message"]


def test_an_address_taken_before_confirmation_is_refused_then(client, session, bearer):
    client.patch("/api/v1/me", json={"email": NEW}, headers=bearer())
    link = confirmation_link(session)
    bruno = session.scalar(select(User).filter_by(username="bruno.petit"))
    bruno.email = NEW
    session.commit()

    refused = confirm(client, link)

    assert refused.status_code == 409
    assert "Cette adresse e-mail est déjà utilisée par une autre personne." in refused.text
    assert email_of(session) == "alice.martin@alpha.example"
    (event,) = audit_events(session, "user.email_change_refused")
    assert event.after == {"reason": "taken"}
