"""`/api/v1/me`: what a portal shows in « Mes informations » and « Mes portails » (R6, R8)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts.models import Account
from hub.audit.models import AuditEvent
from hub.clock import utcnow
from hub.oidc import sessions
from hub.oidc.clients import find_client
from hub.oidc.models import OAuthToken
from hub.oidc.secrets import digest, new_secret
from hub.users.models import User


@pytest.fixture
def token_for(session, settings, demo):
    """An access token as the token endpoint issues it to `client_id` for `username`."""

    def issue(username, client_id="soltea", scope="openid profile email accounts", session_of=None):
        user = session.scalar(select(User).filter_by(username=username))
        client = find_client(session, client_id)
        now = utcnow()
        raw = new_secret()
        session.add(
            OAuthToken(
                access_token_hash=digest(raw),
                family=new_secret(12),
                client_id=client.id,
                user_id=user.id,
                browser_session_id=session_of.id if session_of else None,
                scope=scope,
                auth_time=now,
                issued_at=now,
                access_expires_at=now + timedelta(seconds=settings.oidc.access_token_seconds),
            )
        )
        session.commit()
        return {"Authorization": f"Bearer {raw}"}

    return issue


def test_a_person_reads_their_identity(client, token_for):
    response = client.get("/api/v1/me", headers=token_for("chloe.roux"))

    assert response.status_code == 200
    me = response.get_json()
    assert (me["username"], me["civility"], me["first_name"], me["last_name"]) == (
        "chloe.roux",
        "Mme",
        "Chloé",
        "Roux",
    )
    assert me["email"] == "chloe.roux@alpha.example"
    assert "password_hash" not in me


def test_r6_a_person_edits_their_contact_details(client, session, token_for):
    headers = token_for("bruno.petit")

    response = client.patch(
        "/api/v1/me",
        json={"service": "Scolarité", "mobile_phone": "06 12 34 56 78"},
        headers=headers,
    )

    assert response.status_code == 200
    assert response.get_json()["mobile_phone"] == "0612345678"
    event = session.scalar(select(AuditEvent).filter_by(action="user.update"))
    assert (event.actor, event.via_portal, event.after["service"]) == (
        "bruno.petit",
        "soltea",
        "Scolarité",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"last_name": ""}, "last_name"),
        ({"email": "pas-une-adresse"}, "email"),  # a valid new one is mailed to (§2)
        ({"username": "root"}, "username"),
        ({"mobile_phone": "abc"}, "mobile_phone"),
        ([1, 2], "body"),
    ],
)
def test_bad_contact_details_get_a_french_message_naming_the_field(
    client, session, token_for, body, field
):
    response = client.patch("/api/v1/me", json=body, headers=token_for("bruno.petit"))

    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert response.get_json()["message"]
    assert session.scalar(select(User.last_name).filter_by(username="bruno.petit")) == "Petit"


def test_r8_my_portals_lists_every_account_and_delegated_right(client, session, token_for):
    response = client.get("/api/v1/me/accounts", headers=token_for("alice.martin"))

    assert response.status_code == 200
    entries = {(e["portal"]["code"], e["role"], e["via"]) for e in response.get_json()}
    assert entries == {("soltea", "admin", None), ("certificateurs", "admin", "soltea")}


def test_r8_an_expired_account_is_listed_as_expired(client, token_for):
    response = client.get("/api/v1/me/accounts", headers=token_for("bruno.petit"))

    status = {e["portal"]["code"]: e["expired"] for e in response.get_json()}
    assert status == {"soltea": False, "certificateurs": True}


def test_r8_portals_signed_in_by_a_live_session_are_connected(client, session, settings, token_for):
    alice = session.scalar(select(User).filter_by(username="alice.martin"))
    live = sessions.start(session, alice, now=utcnow(), lifetimes=settings.oidc)
    sessions.remember_client(session, live.browser_session, find_client(session, "soltea"))
    session.commit()

    response = client.get("/api/v1/me/accounts", headers=token_for("alice.martin"))

    connected = {e["portal"]["code"]: e["connected"] for e in response.get_json()}
    assert connected == {"soltea": True, "certificateurs": False}


def test_r6_a_person_deletes_their_own_account_on_a_portal(client, session, token_for):
    headers = token_for("chloe.roux", client_id="certificateurs")

    response = client.delete("/api/v1/me/accounts/certificateurs/100001", headers=headers)

    assert response.status_code == 204
    assert (
        session.scalars(select(Account).join(Account.user).filter_by(username="chloe.roux")).all()
        == []
    )


def test_r11_the_last_administrator_cannot_delete_their_account(client, session, token_for):
    response = client.delete("/api/v1/me/accounts/soltea/100001", headers=token_for("alice.martin"))

    assert response.status_code == 409
    assert response.get_json()["error"] == "last_administrator"


def test_someone_elses_account_is_not_found(client, token_for):
    response = client.delete(
        "/api/v1/me/accounts/certificateurs/100001", headers=token_for("alice.martin")
    )

    assert response.status_code == 404


def test_the_api_needs_a_live_token_with_the_right_scope(client, session, token_for):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    narrow = token_for("bruno.petit", scope="openid")
    assert client.get("/api/v1/me", headers=narrow).status_code == 403
    assert (
        client.get(
            "/api/v1/me/accounts", headers=token_for("bruno.petit", scope="openid profile")
        ).status_code
        == 403
    )

    headers = token_for("bruno.petit")
    session.query(OAuthToken).update({OAuthToken.revoked_at: utcnow()})
    session.commit()
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_an_expired_access_token_is_refused(client, token_for, time_machine, settings):
    headers = token_for("bruno.petit")
    time_machine.move_to(utcnow() + timedelta(seconds=settings.oidc.access_token_seconds + 1))

    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_each_request_has_an_id_found_in_its_audit_events(client, session, token_for):
    response = client.patch(
        "/api/v1/me",
        json={"service": "Direction"},
        headers=token_for("bruno.petit") | {"X-Request-Id": "portal-req-0001"},
    )

    assert response.headers["X-Request-Id"] == "portal-req-0001"
    event = session.scalar(select(AuditEvent).filter_by(action="user.update"))
    assert event.request_id == "portal-req-0001"
    generated = client.get("/healthz", headers={"X-Request-Id": "bad id!"}).headers["X-Request-Id"]
    assert len(generated) == 16
    assert generated != "bad id!"
