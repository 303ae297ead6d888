"""« Créer un compte », « Modifier » and « Supprimer » through the API (R2, R7, R9, R11): accounts
for known and new people (invited by mail), promotion and demotion with the last-administrator
invariant, the `data_exchange` right, deletion; every change audited from the calling portal."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.accounts.models import Role
from hub.clock import add_months, utcnow
from hub.errors import LastAdministrator
from hub.mail.models import OutboxMessage
from hub.portals.models import Portal
from hub.users.invitations import Invitations
from hub.users.models import User
from tests.factories import make_account, make_structure
from tests.idp.api.demo_accounts import (
    ADMIN,
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


def test_r2_an_account_for_a_person_the_hub_knows_by_identifiant(client, alice, session):
    response = client.post(
        accounts_url(portal="soltea"), json={"existing": "chloe.roux"}, headers=alice
    )

    assert response.status_code == 201
    body = response.get_json()
    assert body["invited"] is False
    account = body["account"]
    assert (account["user"]["username"], account["portal"]["code"]) == ("chloe.roux", "soltea")
    assert (account["role"], account["data_exchange"], account["status"]) == ("user", True, "valid")
    assert account["expires_at"] == add_months(utcnow(), 18).isoformat()  # R3
    [mail] = mails(session, "account_created")
    assert mail.recipient == "chloe.roux@alpha.example"
    [event] = audit_events(session, "account.create")[-1:]
    assert (event.actor, event.portal, event.via_portal) == ("alice.martin", "soltea", "soltea")


def test_r9_alice_creates_a_certificateurs_admin_from_soltea_by_email(client, alice, session):
    body = {"existing": "BRUNO.PETIT@alpha.example", "role": "admin", "data_exchange": False}
    response = client.post(accounts_url(portal="soltea"), json=body, headers=alice)

    assert response.status_code == 409  # he already has one on SOLTÉA
    assert response.get_json()["error"] == "already_exists"

    bruno_cert = account_of(session, "bruno.petit", "certificateurs")
    current(session).delete(bruno_cert)
    session.commit()
    response = client.post(accounts_url(), json=body, headers=alice)

    assert response.status_code == 201
    account = response.get_json()["account"]
    assert (account["role"], account["rights"], account["data_exchange"]) == ("admin", [], False)
    [event] = audit_events(session, "account.create")[-1:]
    assert (event.portal, event.via_portal) == ("certificateurs", "soltea")


def test_r2_a_new_person_is_created_once_and_invited_to_choose_a_password(
    client, alice, session, settings
):
    response = client.post(accounts_url(), json=NEW_PERSON | {"role": "admin"}, headers=alice)

    assert response.status_code == 201
    body = response.get_json()
    assert body["invited"] is True
    person = body["account"]["user"]
    assert person | {"sub": None} == {
        "sub": None,
        "username": "emile.durand",
        "civility": "M.",
        "last_name": "Durand",
        "first_name": "Émile",
        "email": "emile.durand@alpha.example",
        "service": "Formation continue",
        "mobile_phone": "0612345678",
        "landline_phone": None,
    }
    assert body["account"]["role"] == "admin"
    assert mails(session, "account_created") == []  # they cannot sign in yet
    [invitation] = mails(session, "account_invitation")
    assert invitation.recipient == "emile.durand@alpha.example"
    assert invitation.subject == "Votre compte sur Certificateurs : choisissez votre mot de passe"
    assert "Alice Martin, administrateur de Organisme Alpha Formation" in invitation.text_body
    assert "Identifiant : emile.durand" in invitation.text_body
    link = re.search(r"http://127\.0\.0\.1:5000/invitation/(\S+)", invitation.text_body)
    assert link, invitation.text_body
    invitations = Invitations(settings.secret_key, settings.public_url)
    invited = invitations.read(current(session), link.group(1), now=utcnow())
    assert invited is not None
    assert (invited.username, invited.password_hash, invited.email_verified) == (
        "emile.durand",
        None,
        False,
    )
    created = [e.target for e in audit_events(session, "user.create") if e.actor == "alice.martin"]
    assert created == ["emile.durand"]


def test_r14_a_new_person_whose_email_the_hub_knows_is_that_person(client, alice, session):
    typed = NEW_PERSON | {"email": "chloe.roux@alpha.example", "first_name": "Chlo"}

    response = client.post(accounts_url(portal="soltea"), json=typed, headers=alice)

    assert response.status_code == 201
    assert response.get_json()["account"]["user"]["username"] == "chloe.roux"
    assert response.get_json()["invited"] is False
    count = select(func.count()).select_from(User).filter_by(email="chloe.roux@alpha.example")
    assert current(session).scalar(count) == 1


def test_r2_a_person_with_an_account_there_already_is_409(client, alice):
    response = client.post(accounts_url(), json={"existing": "chloe.roux"}, headers=alice)

    assert response.status_code == 409
    assert response.get_json() == {
        "error": "already_exists",
        "message": "Cette personne a déjà un compte pour cette structure sur ce portail.",
    }


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


def test_creating_where_alice_is_no_admin_is_404_and_creates_nobody(client, alice, session):
    response = client.post(accounts_url(BETA), json=NEW_PERSON, headers=alice)

    assert response.status_code == 404
    assert current(session).scalar(select(User).filter_by(last_name="Durand")) is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"existing": "nobody.here"}, "existing"),
        ({"existing": "chloe.roux", "email": "x@alpha.example"}, "existing"),
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
    assert current(session).scalar(select(User).filter_by(last_name="Durand")) is None


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


def test_an_expired_invitation_is_sent_again_and_the_new_link_works(
    client, alice, bearer, session, time_machine
):
    created = client.post(accounts_url(), json=NEW_PERSON, headers=alice).get_json()["account"]
    assert created["invitation_pending"] is True
    time_machine.move_to(utcnow() + timedelta(days=8), tick=False)  # the first link expired
    alice = bearer("alice.martin", "soltea")  # signed in again, days later

    response = client.post(f"/api/v1/admin/accounts/{created['id']}/invitation", headers=alice)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["sent_to"] == "emile.durand@alpha.example"
    first, second = mails(session, "account_invitation")
    path = re.search(r"http://\S+(/invitation/\S+)", second.text_body).group(1)
    assert client.get(path).status_code == 200  # the new link opens the page
    old_path = re.search(r"http://\S+(/invitation/\S+)", first.text_body).group(1)
    assert client.get(old_path).status_code == 404  # the first one has expired


def test_a_person_with_a_password_is_not_invited_again(client, alice, session):
    bruno = account_of(session, "bruno.petit", "certificateurs").id

    response = client.post(f"/api/v1/admin/accounts/{bruno}/invitation", headers=alice)

    assert response.status_code == 409
    assert response.get_json()["error"] == "already_active"
    assert mails(session, "account_invitation") == []


def test_an_invitation_for_another_structures_account_is_404(client, alice, session):
    certificateurs = session.scalar(select(Portal).filter_by(code="certificateurs"))
    other = make_structure(session, matricule="999001", portals=(certificateurs,))
    stranger = make_account(session, now=utcnow(), structure=other, portal=certificateurs)
    stranger.user.password_hash = None  # invited, but by another structure's admin
    session.commit()

    response = client.post(f"/api/v1/admin/accounts/{stranger.id}/invitation", headers=alice)

    assert response.status_code == 404
    assert mails(session, "account_invitation") == []
