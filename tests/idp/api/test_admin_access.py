"""Who may call `/api/v1/admin`, and what each admin manages from the portal they call from
(R2, R9, R15): the scope the « Administration » pages are built on, refusals for non-admins and
for anything out of reach, and a delegated right that lapses with its source account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts.models import Right, Role
from hub.audit.models import AuditEvent
from tests.factories import make_account, make_structure
from tests.idp.api.demo_accounts import (
    ADMIN,
    ALPHA,
    BETA,
    account_of,
    accounts_url,
    audit_events,
    current,
)

ALPHA_SCOPE_STRUCTURE = {
    "matricule": ALPHA,
    "name": "Organisme Alpha Formation",
    "siret": "10000010800017",
}


def test_r9_from_soltea_alice_manages_alpha_on_soltea_and_certificateurs(client, bearer):
    response = client.get(f"{ADMIN}/scope", headers=bearer("alice.martin", "soltea"))

    assert response.status_code == 200
    assert response.get_json() == {
        "portals": [
            {"code": "soltea", "name": "SOLTÉA", "via": None},
            {"code": "certificateurs", "name": "Certificateurs", "via": "soltea"},
        ],
        "structures": [ALPHA_SCOPE_STRUCTURE | {"portals": ["soltea", "certificateurs"]}],
    }


def test_r9_from_certificateurs_alice_manages_certificateurs_only(client, bearer):
    response = client.get(f"{ADMIN}/scope", headers=bearer("alice.martin", "certificateurs"))

    assert response.get_json() == {
        "portals": [{"code": "certificateurs", "name": "Certificateurs", "via": "soltea"}],
        "structures": [ALPHA_SCOPE_STRUCTURE | {"portals": ["certificateurs"]}],
    }


def test_r9_the_portal_filter_does_not_lead_back_from_certificateurs_to_soltea(client, bearer):
    headers = bearer("alice.martin", "certificateurs")

    assert client.get(accounts_url(portal="soltea"), headers=headers).status_code == 404
    assert client.get(accounts_url(portal="certificateurs"), headers=headers).status_code == 200


def test_r2_a_direct_admin_of_another_structure_sees_both_structures(client, bearer, session, now):
    soltea_admin = account_of(session, "alice.martin", "soltea")
    other = make_structure(session, portals=(soltea_admin.portal,), name="Zeta Formation")
    make_account(
        session,
        now=now,
        structure=other,
        portal=soltea_admin.portal,
        user=soltea_admin.user,
        role=Role.ADMIN,
    )
    session.commit()

    scope = client.get(f"{ADMIN}/scope", headers=bearer("alice.martin")).get_json()

    assert [(s["name"], s["portals"]) for s in scope["structures"]] == [
        ("Organisme Alpha Formation", ["soltea", "certificateurs"]),
        ("Zeta Formation", ["soltea"]),  # no Certificateurs contract: no delegated right (R9)
    ]


CALLS = [
    ("get", f"{ADMIN}/scope", None),
    ("get", accounts_url(), None),
    ("post", accounts_url(), {"existing": "bruno.petit"}),
    ("post", f"{ADMIN}/accounts/renew", {"ids": [1], "idempotency_key": "k-1"}),
    ("patch", f"{ADMIN}/accounts/1", {"role": "admin"}),
    ("delete", f"{ADMIN}/accounts/1", None),
    ("get", f"{ADMIN}/structures/{ALPHA}/history", None),
]


@pytest.mark.parametrize(("method", "url", "body"), CALLS)
def test_r15_a_user_is_refused_every_administration_call(
    client, bearer, session, method, url, body
):
    headers = bearer("chloe.roux", "certificateurs")

    response = client.open(url, method=method.upper(), json=body, headers=headers)

    assert response.status_code == 403
    assert response.get_json() == {
        "error": "forbidden",
        "message": "Vous n'administrez aucune structure depuis ce portail.",
    }
    [refused] = audit_events(session, "admin.access.refused")
    assert (refused.actor, refused.portal) == ("chloe.roux", "certificateurs")


@pytest.mark.parametrize(("method", "url", "body"), CALLS)
def test_without_a_token_every_call_is_401(client, demo, method, url, body):
    response = client.open(url, method=method.upper(), json=body)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.get_json()["message"] == "Jeton d'accès manquant."


def test_a_token_without_the_admin_scope_is_403(client, bearer):
    headers = bearer("alice.martin", "soltea", scope="openid profile email accounts")

    response = client.get(f"{ADMIN}/scope", headers=headers)

    assert response.status_code == 403
    assert response.get_json()["error"] == "insufficient_scope"


def test_a_structure_out_of_reach_is_not_found_like_one_that_does_not_exist(client, bearer):
    headers = bearer("alice.martin")

    beta = client.get(accounts_url(BETA, "certificateurs"), headers=headers)
    unknown = client.get(accounts_url("999999", "certificateurs"), headers=headers)
    no_portal = client.get(accounts_url(ALPHA, "nowhere"), headers=headers)

    for response in (beta, unknown, no_portal):
        assert response.status_code == 404
        assert response.get_json() == {
            "error": "not_found",
            "message": "Vous n'administrez pas cette structure sur ce portail.",
        }


def test_r9_lapse_once_alice_soltea_account_expires_certificateurs_is_out_of_reach(
    client, bearer, session, time_machine
):
    """R9: derived, never copied — the delegated right ends with the SOLTÉA admin account."""
    alice_expires = account_of(session, "alice.martin", "soltea").expires_at
    bruno = account_of(session, "bruno.petit", "certificateurs")
    bruno_expires = bruno.expires_at
    time_machine.move_to(alice_expires - timedelta(minutes=1), tick=False)
    from_soltea = bearer("alice.martin", "soltea")
    from_certificateurs = bearer("alice.martin", "certificateurs")
    assert client.get(accounts_url(), headers=from_soltea).status_code == 200

    time_machine.move_to(alice_expires + timedelta(minutes=1), tick=False)  # tokens still live

    assert client.get(f"{ADMIN}/scope", headers=from_soltea).status_code == 403
    assert client.get(f"{ADMIN}/scope", headers=from_certificateurs).status_code == 403
    assert client.get(accounts_url(), headers=from_certificateurs).status_code == 403
    renewal = {"ids": [bruno.id], "idempotency_key": "after-lapse"}
    response = client.post(f"{ADMIN}/accounts/renew", json=renewal, headers=from_soltea)
    assert response.status_code == 403
    assert account_of(session, "bruno.petit", "certificateurs").expires_at == bruno_expires


def test_r9_lapse_while_alice_still_manages_another_structure_answers_404(
    client, bearer, session, now, time_machine
):
    alice = account_of(session, "alice.martin", "soltea")
    other = make_structure(session, portals=(alice.portal,))
    make_account(
        session,
        now=now,
        structure=other,
        portal=alice.portal,
        user=alice.user,
        role=Role.ADMIN,
        expires_in=timedelta(days=800),
    )
    session.commit()
    time_machine.move_to(alice.expires_at - timedelta(minutes=1), tick=False)
    headers = bearer("alice.martin", "soltea")

    time_machine.move_to(alice.expires_at + timedelta(minutes=1), tick=False)

    assert client.get(accounts_url(), headers=headers).status_code == 404
    scope = client.get(f"{ADMIN}/scope", headers=headers).get_json()
    assert [s["matricule"] for s in scope["structures"]] == [other.matricule]


UNKNOWN = 999_999
EVERY_OPERATION = [
    ("get", f"{ADMIN}/scope", None),
    ("get", accounts_url(), None),
    ("post", accounts_url(), {"existing": "bruno.petit"}),
    ("get", f"{ADMIN}/structures/{ALPHA}/portals/certificateurs/invitations", None),
    ("post", f"{ADMIN}/invitations/{UNKNOWN}/send", None),
    ("delete", f"{ADMIN}/invitations/{UNKNOWN}", None),
    ("post", f"{ADMIN}/accounts/renew", {"ids": [UNKNOWN], "idempotency_key": "k-1"}),
    ("patch", f"{ADMIN}/accounts/{UNKNOWN}", {"role": "admin"}),
    ("delete", f"{ADMIN}/accounts/{UNKNOWN}", None),
    ("get", f"{ADMIN}/structures/999999/history", None),
]


def audit_log(session) -> list[tuple[str, str | None]]:
    events = current(session).scalars(select(AuditEvent).order_by(AuditEvent.id))
    return [(event.action, event.actor) for event in events]


@pytest.mark.parametrize(("method", "url", "body"), EVERY_OPERATION)
def test_r15_every_operation_refuses_a_user_once_whatever_it_names(
    client, bearer, session, method, url, body
):
    """R15, checked once per call before the request is read: one refusal in the audit log,
    the same answer whether what the call names exists or not (a user learns nothing)."""
    headers = bearer("chloe.roux", "certificateurs")
    before = len(audit_log(session))

    response = client.open(url, method=method.upper(), json=body, headers=headers)

    assert response.status_code == 403
    assert (
        response.get_json()["message"] == "Vous n'administrez aucune structure depuis ce portail."
    )
    assert audit_log(session)[before:] == [("admin.access.refused", "chloe.roux")]


def test_r2_r9_every_operation_out_of_reach_is_404_once_and_changes_nothing(
    client, bearer, session
):
    """R9: from Certificateurs, Alice's « Administration » does not reach SOLTÉA. Each operation
    on a SOLTÉA thing is checked once, by the hub function that acts, and answered 404 like what
    does not exist: nothing changes, nothing is written to the audit log."""
    from_soltea = bearer("alice.martin", "soltea")
    invited = client.post(
        accounts_url(ALPHA, "soltea"), json={"existing": "emma.leroy"}, headers=from_soltea
    )
    invitation = invited.get_json()["invitation"]["id"]
    bruno = account_of(session, "bruno.petit", "soltea")
    bruno_expires = bruno.expires_at
    headers = bearer("alice.martin", "certificateurs")
    soltea_invitations = f"{ADMIN}/structures/{ALPHA}/portals/soltea/invitations"
    pair, account, found = (
        "Vous n'administrez pas cette structure sur ce portail.",
        "Compte introuvable.",
        "Invitation introuvable.",
    )
    calls = [
        ("get", accounts_url(ALPHA, "soltea"), None, pair),
        ("post", accounts_url(ALPHA, "soltea"), {"existing": "chloe.roux"}, pair),
        ("get", soltea_invitations, None, pair),
        ("post", f"{ADMIN}/invitations/{invitation}/send", None, found),
        ("delete", f"{ADMIN}/invitations/{invitation}", None, found),
        ("post", f"{ADMIN}/accounts/renew", {"ids": [bruno.id], "idempotency_key": "k"}, account),
        ("patch", f"{ADMIN}/accounts/{bruno.id}", {"data_exchange": False}, account),
        ("delete", f"{ADMIN}/accounts/{bruno.id}", None, account),
        ("get", f"{ADMIN}/structures/{ALPHA}/history?portal=soltea", None, pair),
    ]
    before = len(audit_log(session))

    for method, url, body, message in calls:
        response = client.open(url, method=method.upper(), json=body, headers=headers)
        assert (response.status_code, response.get_json()) == (
            404,
            {"error": "not_found", "message": message},
        ), url

    assert audit_log(session)[before:] == []
    bruno = account_of(session, "bruno.petit", "soltea")
    assert (bruno.expires_at, bruno.role, bruno.has_right(Right.DATA_EXCHANGE)) == (
        bruno_expires,
        Role.USER,
        True,
    )
    pending = client.get(soltea_invitations, headers=from_soltea).get_json()["items"]
    assert [(i["id"], i["status"]) for i in pending] == [(invitation, "sent")]


def test_r6_in_an_administration_ones_own_account_out_of_reach_is_404_and_kept(
    client, bearer, session, now
):
    """R6 lets a person delete their own account from their own pages; an « Administration »
    deletes only what it reaches, the caller's own accounts included."""
    alice = account_of(session, "alice.martin", "soltea")
    elsewhere = make_structure(session, portals=(alice.portal,), name="Zeta Formation")
    own = make_account(session, now=now, structure=elsewhere, portal=alice.portal, user=alice.user)
    session.commit()

    response = client.delete(f"{ADMIN}/accounts/{own.id}", headers=bearer("alice.martin"))

    assert (response.status_code, response.get_json()["message"]) == (404, "Compte introuvable.")
    assert account_of(session, "alice.martin", "soltea", elsewhere.matricule) is not None
