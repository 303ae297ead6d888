"""« Créer un compte », « Modifier » and « Supprimer » through the API (R2, R7, R9, R11): accounts
for known and new people (invited by mail), promotion and demotion with the last-administrator
invariant, the `data_exchange` right, deletion; every change audited from the calling portal."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.accounts.models import Invitation, Role
from hub.clock import utcnow
from hub.errors import LastAdministrator
from hub.mail.models import OutboxMessage
from hub.portals.models import Portal
from hub.users.models import User
from tests.factories import make_account, make_structure
from tests.idp.api.demo_accounts import (
    ADMIN,
    ALPHA,
    BETA,
    account_of,
    accounts_url,
    audit_events,
    current,
    find_account,
)

NEW_PERSON = {
    "civility": "M.",
    "last_name": "Durand",
    "first_name": "Émile",
    "email": "Emile.Durand@alpha.example",
    "service": "Formation continue",
    "mobile_phone": "06 12 34 56 78",
    "landline_phone": None,
}


@pytest.fixture
def alice(bearer):
    return bearer("alice.martin", "soltea")


def mails(session, template):
    query = select(OutboxMessage).filter_by(template=template).order_by(OutboxMessage.id)
    return list(current(session).scalars(query))


def invite(client, headers, body, *, portal="soltea", matricule=ALPHA):
    return client.post(accounts_url(matricule, portal), json=body, headers=headers)


def invitation_link(mail: OutboxMessage) -> str:
    match = re.search(r"http://127\.0\.0\.1:5000(/invitation/\S+)", mail.text_body)
    assert match, mail.text_body
    return match.group(1)


def test_r2_a_known_person_is_invited_and_the_answer_holds_only_what_was_typed(
    client, alice, session
):
    response = invite(client, alice, {"existing": "Chloe.Roux"})

    assert response.status_code == 201
    invitation = response.get_json()["invitation"]
    assert invitation | {"id": 0, "created_at": "", "sent_at": "", "expires_at": ""} == {
        "id": 0,
        "invitee": "chloe.roux",
        "person": None,
        "structure": {"matricule": ALPHA, "name": "Organisme Alpha Formation"},
        "portal": {"code": "soltea", "name": "SOLTÉA"},
        "role": "user",
        "rights": ["data_exchange"],
        "data_exchange": True,
        "status": "sent",
        "invited_by": {"name": "Alice Martin"},
        "created_at": "",
        "sent_at": "",
        "expires_at": "",
    }
    assert invitation["expires_at"] == (utcnow() + timedelta(days=7)).isoformat()
    assert "chloe.roux@alpha.example" not in response.text  # nothing the admin did not type
    assert find_account(session, "chloe.roux", "soltea") is None  # until she accepts
    [mail] = mails(session, "account_invitation")
    assert mail.recipient == "chloe.roux@alpha.example"
    assert mail.subject == "Invitation à rejoindre Organisme Alpha Formation sur SOLTÉA"
    assert "Alice Martin, administrateur de Organisme Alpha Formation, vous invite" in (
        mail.text_body
    )
    assert "identifiant des portails de la formation : chloe.roux" in mail.text_body
    assert "« Mot de passe oublié ? »" in mail.text_body
    [event] = audit_events(session, "account.invite")
    assert (event.actor, event.target, event.portal, event.via_portal) == (
        "alice.martin",
        "chloe.roux",
        "soltea",
        "soltea",
    )
    assert event.after == {
        "invitee": "chloe.roux",
        "role": "user",
        "rights": ["data_exchange"],
        "expires_at": invitation["expires_at"],
    }


@pytest.mark.parametrize(
    "typed",
    [
        {"existing": "chloe.roux"},
        {"existing": "chloe.roux@alpha.example"},
        {"existing": "nobody.here"},
        {"existing": "nobody@nowhere.example"},
        NEW_PERSON | {"email": "chloe.roux@alpha.example"},
        NEW_PERSON | {"email": "nobody@nowhere.example"},
    ],
    ids=["known-id", "known-email", "unknown-id", "unknown-email", "known-new", "unknown-new"],
)
def test_r2_the_answer_is_the_same_whether_the_hub_knows_the_person_or_not(
    client, alice, session, typed
):
    """Issue 12 §2: no answer tells an administrator whether an identifiant or an address
    exists, nor anything about the person it belongs to."""
    response = invite(client, alice, typed)

    assert response.status_code == 201
    invitation = response.get_json()["invitation"]
    assert invitation["status"] == "sent"
    assert invitation["invitee"] == (typed.get("existing") or typed["email"])
    expected_person = None
    if "email" in typed:
        expected_person = {
            "civility": "M.",
            "last_name": "Durand",
            "first_name": "Émile",
            "service": "Formation continue",
            "mobile_phone": "0612345678",
            "landline_phone": None,
        }
    assert invitation["person"] == expected_person
    for private in ("Roux", "Chloé", "alice.example", "sub", "username"):
        assert private not in response.text.replace("Alice Martin", "")


def test_r2_whom_an_invitation_reaches_is_mailed_and_nobody_else(client, alice, session):
    for typed in ("chloe.roux", "nobody.here", "nobody@nowhere.example"):
        assert invite(client, alice, {"existing": typed}).status_code == 201
    invite(client, alice, NEW_PERSON)

    recipients = [mail.recipient for mail in mails(session, "account_invitation")]

    assert recipients == ["chloe.roux@alpha.example", "emile.durand@alpha.example"]


def test_r14_a_new_person_whose_email_the_hub_knows_is_invited_as_that_person(
    client, alice, session
):
    typed = NEW_PERSON | {"email": "chloe.roux@alpha.example", "first_name": "Chlo"}

    response = invite(client, alice, typed)

    assert response.status_code == 201
    assert response.get_json()["invitation"]["person"]["first_name"] == "Chlo"  # as typed
    count = select(func.count()).select_from(User).filter_by(email="chloe.roux@alpha.example")
    assert current(session).scalar(count) == 1
    assert current(session).scalar(select(User).filter_by(username="chloe.roux")).first_name == (
        "Chloé"  # the names typed never change the person
    )
    [mail] = mails(session, "account_invitation")
    assert "Bonjour Mme Roux," in mail.text_body
    assert "chloe.roux" in mail.text_body


def test_r2_a_new_person_exists_only_once_the_invitation_is_accepted(client, alice, session):
    response = invite(client, alice, NEW_PERSON | {"role": "admin"}, portal="certificateurs")

    assert response.status_code == 201
    assert response.get_json()["invitation"]["role"] == "admin"
    assert current(session).scalar(select(User).filter_by(last_name="Durand")) is None
    [mail] = mails(session, "account_invitation")
    assert mail.recipient == "emile.durand@alpha.example"
    assert "Bonjour M. Durand," in mail.text_body
    assert "choisissez votre mot de passe" in mail.text_body
    assert "Rôle : administrateur" in mail.text_body
    assert client.get(invitation_link(mail)).status_code == 200


def test_r9_alice_invites_a_certificateurs_admin_from_soltea(client, alice, session):
    body = {"existing": "BRUNO.PETIT@alpha.example", "role": "admin", "data_exchange": False}
    refused = invite(client, alice, body)  # he already has an account on SOLTÉA

    current(session).delete(account_of(session, "bruno.petit", "certificateurs"))
    session.commit()
    response = invite(client, alice, body, portal="certificateurs")

    assert refused.status_code == 409
    assert refused.get_json()["error"] == "already_exists"
    assert response.status_code == 201
    invitation = response.get_json()["invitation"]
    assert (invitation["role"], invitation["rights"], invitation["data_exchange"]) == (
        "admin",
        [],
        False,
    )
    [event] = audit_events(session, "account.invite")
    assert (event.portal, event.via_portal) == ("certificateurs", "soltea")


def test_r2_a_person_with_an_account_there_already_is_409(client, alice):
    response = invite(client, alice, {"existing": "chloe.roux"}, portal="certificateurs")

    assert response.status_code == 409
    assert response.get_json() == {
        "error": "already_exists",
        "message": "Cette personne a déjà un compte pour cette structure sur ce portail.",
    }


def test_r2_a_second_invitation_of_the_same_person_is_409_until_the_first_expires(
    client, alice, bearer, time_machine
):
    first = invite(client, alice, {"existing": "nobody.here"})
    second = invite(client, alice, {"existing": "Nobody.Here"})
    time_machine.move_to(utcnow() + timedelta(days=8), tick=False)
    later = invite(client, bearer("alice.martin", "soltea"), {"existing": "nobody.here"})

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.get_json()["error"] == "already_invited"
    assert later.status_code == 201


def test_a_structure_without_contract_for_the_portal_is_409(client, alice, session, now):
    alice_account = account_of(session, "alice.martin", "soltea")
    uncontracted = make_structure(session)  # no contract at all
    make_account(
        session,
        now=now,
        structure=uncontracted,
        portal=alice_account.portal,
        user=alice_account.user,
        role=Role.ADMIN,
    )
    session.commit()

    response = client.post(
        accounts_url(uncontracted.matricule, "soltea"),
        json={"existing": "chloe.roux"},
        headers=alice,
    )

    assert response.status_code == 409
    assert response.get_json()["error"] == "no_contract"


def test_inviting_where_alice_is_no_admin_is_404_and_invites_nobody(client, alice, session):
    response = client.post(accounts_url(BETA), json=NEW_PERSON, headers=alice)

    assert response.status_code == 404
    assert current(session).scalar(select(func.count(Invitation.id))) == 0
    assert mails(session, "account_invitation") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"existing": "chloe.roux", "email": "x@alpha.example"}, "existing"),
        ({"existing": "   "}, "existing"),
        ({"existing": 42}, "existing"),
        (NEW_PERSON | {"email": "pas-une-adresse"}, "email"),
        (NEW_PERSON | {"last_name": ""}, "last_name"),
        (NEW_PERSON | {"first_name": 7}, "first_name"),
        (NEW_PERSON | {"civility": "Dr"}, "civility"),
        (NEW_PERSON | {"mobile_phone": "abc"}, "mobile_phone"),
        (NEW_PERSON | {"role": "owner"}, "role"),
        (NEW_PERSON | {"role": None}, "role"),
        (NEW_PERSON | {"data_exchange": "oui"}, "data_exchange"),
        (NEW_PERSON | {"password": "x"}, "password"),
        ({}, "email"),
    ],
)
def test_bad_account_requests_are_400_naming_the_field(client, alice, session, body, field):
    response = client.post(accounts_url(), json=body, headers=alice)

    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert current(session).scalar(select(func.count(Invitation.id))) == 0


def change(client, headers, account_id, **body):
    return client.patch(f"{ADMIN}/accounts/{account_id}", json=body, headers=headers)


def test_r2_r9_alice_promotes_and_demotes_chloe_on_certificateurs(client, alice, session):
    chloe = account_of(session, "chloe.roux", "certificateurs")

    promoted = change(client, alice, chloe.id, role="admin")
    demoted = change(client, alice, chloe.id, role="user")

    assert (promoted.status_code, promoted.get_json()["role"]) == (200, "admin")
    assert (demoted.status_code, demoted.get_json()["role"]) == (200, "user")
    [promotion] = audit_events(session, "account.promote")
    assert (promotion.before["role"], promotion.after["role"]) == ("user", "admin")
    assert (promotion.portal, promotion.via_portal) == ("certificateurs", "soltea")
    assert len(audit_events(session, "account.demote")) == 1


def test_r11_the_last_administrator_cannot_be_demoted(client, alice, session):
    alice_account = account_of(session, "alice.martin", "soltea")

    response = change(client, alice, alice_account.id, role="user")

    assert response.status_code == 409
    assert response.get_json() == {
        "error": "last_administrator",
        "message": LastAdministrator.message,
    }
    assert account_of(session, "alice.martin", "soltea").role is Role.ADMIN


def test_r7_data_exchange_is_withdrawn_and_given_back(client, alice, session):
    bruno = account_of(session, "bruno.petit", "soltea")

    withdrawn = change(client, alice, bruno.id, data_exchange=False)
    assert (withdrawn.get_json()["data_exchange"], withdrawn.get_json()["rights"]) == (False, [])
    restored = change(client, alice, bruno.id, data_exchange=True)
    assert restored.get_json()["rights"] == ["data_exchange"]

    assert len(audit_events(session, "account.right_withdraw")) == 1
    assert len(audit_events(session, "account.right_restore")) == 1


def test_role_and_right_change_in_one_request(client, alice, session):
    chloe = account_of(session, "chloe.roux", "certificateurs")

    response = change(client, alice, chloe.id, role="admin", data_exchange=True)

    assert (response.get_json()["role"], response.get_json()["data_exchange"]) == ("admin", True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"role": "owner"}, "role"),
        ({"role": None}, "role"),
        ({"data_exchange": None}, "data_exchange"),
        ({"data_exchange": 1}, "data_exchange"),
        ({"expires_at": "2099-01-01"}, "expires_at"),
    ],
)
def test_bad_changes_are_400_naming_the_field(client, alice, session, body, field):
    chloe = account_of(session, "chloe.roux", "certificateurs")

    response = client.patch(f"{ADMIN}/accounts/{chloe.id}", json=body, headers=alice)

    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_r2_alice_deletes_brunos_certificateurs_account(client, alice, session):
    bruno_id = account_of(session, "bruno.petit", "certificateurs").id

    response = client.delete(f"{ADMIN}/accounts/{bruno_id}", headers=alice)

    assert response.status_code == 204
    assert find_account(session, "bruno.petit", "certificateurs") is None
    assert find_account(session, "bruno.petit", "soltea") is not None
    [event] = audit_events(session, "account.delete")
    assert (event.actor, event.via_portal) == ("alice.martin", "soltea")
    assert client.delete(f"{ADMIN}/accounts/{bruno_id}", headers=alice).status_code == 404


def test_r11_the_last_administrator_cannot_be_deleted(client, alice, session):
    alice_account = account_of(session, "alice.martin", "soltea")

    response = client.delete(f"{ADMIN}/accounts/{alice_account.id}", headers=alice)

    assert response.status_code == 409
    assert response.get_json()["error"] == "last_administrator"


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
def test_an_account_out_of_reach_is_404_and_left_alone(client, alice, session, now, method):
    bruno = account_of(session, "bruno.petit", "soltea")
    foreign = make_account(
        session,
        now=now,
        structure=make_structure(session, portals=(bruno.portal,)),
        portal=bruno.portal,
    )
    session.commit()
    body = {"role": "admin"} if method == "PATCH" else None

    for account_id in (foreign.id, 999_999):
        response = client.open(
            f"{ADMIN}/accounts/{account_id}", method=method, json=body, headers=alice
        )
        assert response.status_code == 404
        assert response.get_json()["message"] == "Compte introuvable."
    assert current(session).get(type(foreign), foreign.id).role is Role.USER


def invitations_url(matricule: str = ALPHA, portal: str = "soltea") -> str:
    return f"{ADMIN}/structures/{matricule}/portals/{portal}/invitations"


def test_r2_the_list_shows_invitations_until_accepted_sent_again_or_cancelled(
    client, alice, bearer, session, time_machine
):
    invite(client, alice, {"existing": "chloe.roux"})
    created = invite(client, alice, NEW_PERSON).get_json()["invitation"]
    time_machine.move_to(utcnow() + timedelta(days=8), tick=False)  # both links expired
    alice = bearer("alice.martin", "soltea")

    listed = client.get(invitations_url(), headers=alice)
    sent = client.post(f"{ADMIN}/invitations/{created['id']}/send", headers=alice)
    relisted = client.get(invitations_url(), headers=alice).get_json()["items"]

    assert [(i["invitee"], i["status"]) for i in listed.get_json()["items"]] == [
        ("emile.durand@alpha.example", "expired"),
        ("chloe.roux", "expired"),
    ]
    assert sent.status_code == 200
    assert sent.get_json()["status"] == "sent"
    assert sent.get_json()["expires_at"] == (utcnow() + timedelta(days=7)).isoformat()
    assert [i["status"] for i in relisted] == ["sent", "expired"]
    first, second = (m for m in mails(session, "account_invitation") if "durand" in m.recipient)
    assert client.get(invitation_link(first)).status_code == 404  # replaced by the new link
    assert client.get(invitation_link(second)).status_code == 200
    assert len(audit_events(session, "account.invitation_resent")) == 1

    cancelled = client.delete(f"{ADMIN}/invitations/{created['id']}", headers=alice)
    again = client.delete(f"{ADMIN}/invitations/{created['id']}", headers=alice)

    assert cancelled.status_code == 204
    assert again.status_code == 409
    assert again.get_json()["error"] == "invitation_closed"
    assert client.get(invitation_link(second)).status_code == 404
    assert [
        i["invitee"] for i in client.get(invitations_url(), headers=alice).get_json()["items"]
    ] == ["chloe.roux"]
    [event] = audit_events(session, "account.invitation_cancelled")
    assert (event.actor, event.target) == ("alice.martin", "emile.durand@alpha.example")


@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_an_invitation_out_of_reach_is_404_and_left_alone(client, alice, bearer, session, method):
    """Another structure's invitation, or one that does not exist, is « introuvable »."""
    certificateurs = current(session).scalar(select(Portal).filter_by(code="certificateurs"))
    other = make_structure(session, matricule="999001", portals=(certificateurs,))
    make_account(session, now=utcnow(), structure=other, portal=certificateurs, role=Role.ADMIN)
    foreign = Invitation(
        nonce="n" * 32,
        structure=other,
        portal=certificateurs,
        role=Role.USER,
        invitee="someone",
        created_at=utcnow(),
        sent_at=utcnow(),
        expires_at=utcnow() + timedelta(days=7),
    )
    session.add(foreign)
    session.commit()

    for invitation_id in (foreign.id, 999_999, 2**40):
        path = f"{ADMIN}/invitations/{invitation_id}"
        response = client.open(
            path + ("/send" if method == "POST" else ""), method=method, headers=alice
        )
        assert response.status_code == 404
        assert response.get_json()["message"] == "Invitation introuvable."
    assert current(session).get(Invitation, foreign.id).status.value == "pending"
    assert mails(session, "account_invitation") == []
