"""« Renouveler » and « Renouveler la sélection » through the API (R4, R9): the new expiry in
the answer, one renewal per idempotency key, two admins' clicks both counting, and a selection
refused whole when one id is out of the admin's reach."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from hub.accounts.models import Account, Role
from hub.clock import add_months, utcnow
from hub.mail.models import OutboxMessage
from tests.factories import make_account, make_structure
from tests.idp.api.demo_accounts import ADMIN, account_of, audit_events, current

RENEW = f"{ADMIN}/accounts/renew"


@pytest.fixture
def alice(bearer):
    return bearer("alice.martin", "soltea")


def renew(client, headers, ids, key="form-1"):
    return client.post(RENEW, json={"ids": ids, "idempotency_key": key}, headers=headers)


def test_r4_r9_alice_renews_brunos_expired_certificateurs_account_from_soltea(
    client, alice, session
):
    bruno = account_of(session, "bruno.petit", "certificateurs")

    response = renew(client, alice, [bruno.id])

    assert response.status_code == 200
    new_expiry = add_months(utcnow(), 18)  # R4: from now, the account having expired
    assert response.get_json() == {
        "accounts": [{"id": bruno.id, "expires_at": new_expiry.isoformat()}]
    }
    assert account_of(session, "bruno.petit", "certificateurs").expires_at == new_expiry
    [event] = audit_events(session, "account.renew")
    assert (event.actor, event.portal, event.via_portal) == (
        "alice.martin",
        "certificateurs",
        "soltea",
    )
    mail = current(session).scalar(select(OutboxMessage).filter_by(template="account_renewed"))
    assert mail.recipient == "bruno.petit@alpha.example"


def test_r4_a_selection_is_renewed_in_one_request(client, alice, session):
    soltea = [account_of(session, u, "soltea") for u in ("alice.martin", "bruno.petit")]
    chloe = account_of(session, "chloe.roux", "certificateurs")
    ids = [chloe.id, *(a.id for a in soltea)]
    expiries = [a.expires_at for a in (chloe, *soltea)]

    answered = renew(client, alice, ids).get_json()["accounts"]

    assert [a["id"] for a in answered] == ids  # in the order asked
    for expired_at, entry in zip(expiries, answered, strict=True):
        expected = add_months(expired_at, 18)  # R4: valid ones stack from their expiry
        assert entry["expires_at"] == expected.isoformat()
    assert len(audit_events(session, "account.renew")) == 3


def test_r4_the_same_idempotency_key_renews_once(client, alice, session):
    bruno = account_of(session, "bruno.petit", "soltea")
    expired_at = bruno.expires_at

    first = renew(client, alice, [bruno.id], key="double-submit")
    again = renew(client, alice, [bruno.id], key="double-submit")

    assert first.get_json() == again.get_json()
    renewed = account_of(session, "bruno.petit", "soltea").expires_at
    assert renewed == add_months(expired_at, 18)
    assert len(audit_events(session, "account.renew")) == 1


def test_r4_two_admins_clicking_both_count(client, alice, bearer, session, now):
    """Two clicks, two keys (two forms): renewals stack, about three years for Bruno."""
    bruno = account_of(session, "bruno.petit", "soltea")
    expired_at = bruno.expires_at
    second_admin = make_account(
        session, now=now, structure=bruno.structure, portal=bruno.portal, role=Role.ADMIN
    )
    session.commit()
    other = bearer(second_admin.user.username, "soltea")

    renew(client, alice, [bruno.id], key="alice-form")
    renew(client, other, [bruno.id], key="other-form")

    renewed = account_of(session, "bruno.petit", "soltea").expires_at
    assert renewed == add_months(add_months(expired_at, 18), 18)


def test_r4_an_id_of_another_structure_is_404_and_nothing_is_renewed(client, alice, session, now):
    bruno = account_of(session, "bruno.petit", "soltea")
    expired_at = bruno.expires_at
    elsewhere = make_structure(session, portals=(bruno.portal,))
    foreign = make_account(session, now=now, structure=elsewhere, portal=bruno.portal)
    session.commit()

    response = renew(client, alice, [bruno.id, foreign.id])

    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found", "message": "Compte introuvable."}
    assert account_of(session, "bruno.petit", "soltea").expires_at == expired_at
    assert audit_events(session, "account.renew") == []


@pytest.mark.parametrize("unknown_id", [999_999, 2**31, 10**30])
def test_r4_an_unknown_id_is_404_and_nothing_is_renewed(client, alice, session, unknown_id):
    bruno = account_of(session, "bruno.petit", "soltea")

    assert renew(client, alice, [bruno.id, unknown_id]).status_code == 404
    assert audit_events(session, "account.renew") == []


def test_r9_from_certificateurs_a_soltea_account_is_out_of_reach(client, bearer, session):
    bruno_on_soltea = account_of(session, "bruno.petit", "soltea")

    response = renew(client, bearer("alice.martin", "certificateurs"), [bruno_on_soltea.id])

    assert response.status_code == 404


def test_r4_renewing_500_selected_accounts_at_once(client, alice, session, now):
    bruno = account_of(session, "bruno.petit", "soltea")
    selection = [
        make_account(session, now=now, structure=bruno.structure, portal=bruno.portal).id
        for _ in range(500)
    ]
    session.commit()

    response = renew(client, alice, selection)

    assert response.status_code == 200
    assert len(response.get_json()["accounts"]) == 500
    renewed = current(session).scalar(
        select(func.count()).select_from(Account).where(Account.expires_at > add_months(now, 18))
    )
    assert renewed == 500
    assert renew(client, alice, [*selection, bruno.id]).status_code == 400  # 501: too many


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"ids": [], "idempotency_key": "k"}, "ids"),
        ({"ids": "1", "idempotency_key": "k"}, "ids"),
        ({"ids": [1, "2"], "idempotency_key": "k"}, "ids"),
        ({"ids": [True], "idempotency_key": "k"}, "ids"),
        ({"ids": [0], "idempotency_key": "k"}, "ids"),
        ({"ids": [1]}, "idempotency_key"),
        ({"ids": [1], "idempotency_key": ""}, "idempotency_key"),
        ({"ids": [1], "idempotency_key": "k" * 101}, "idempotency_key"),
        ({"ids": [1], "idempotency_key": "a\x00b"}, "idempotency_key"),
        ({"ids": [1], "idempotency_key": 7}, "idempotency_key"),
        ({"ids": [1], "idempotency_key": "k", "extra": 1}, "extra"),
        ([1, 2], "body"),
    ],
)
def test_bad_renewal_requests_are_400_naming_the_field(client, alice, body, field):
    response = client.post(RENEW, json=body, headers=alice)

    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_a_body_that_is_not_json_is_400(client, alice):
    response = client.post(RENEW, data="ids=1", headers=alice)

    assert response.status_code == 400
    assert response.get_json()["field"] == "body"
