"""« Historique » through the API (R2, R9, R15): who did what to the structure's accounts, when,
on which portal and from which portal — newest first, limited to the portals the caller manages
for the structure from where they call."""

from __future__ import annotations

import pytest

from tests.idp.api.demo_accounts import ADMIN, ALPHA, BETA, account_of

HISTORY = f"{ADMIN}/structures/{ALPHA}/history"


@pytest.fixture
def alice(bearer):
    return bearer("alice.martin", "soltea")


def history(client, headers, **params):
    response = client.get(HISTORY, query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_r9_a_renewal_from_soltea_is_the_newest_entry(client, alice, session):
    bruno = account_of(session, "bruno.petit", "certificateurs")
    client.post(
        f"{ADMIN}/accounts/renew",
        json={"ids": [bruno.id], "idempotency_key": "k"},
        headers=alice,
    )

    page = history(client, alice)

    newest = page["items"][0]
    assert newest | {"occurred_at": None, "before": None, "after": None} == {
        "occurred_at": None,
        "actor": {"name": "Alice Martin", "username": "alice.martin"},
        "actor_label": "Alice Martin",
        "action": "account.renew",
        "action_label": "Renouvellement",
        "portal": "certificateurs",
        "via_portal": "soltea",
        "target": "bruno.petit (100001, certificateurs)",
        "before": None,
        "after": None,
    }
    assert newest["before"]["expires_at"] < newest["after"]["expires_at"]
    assert page["total"] == 6  # the demo's five account creations, then the renewal


def test_the_demo_loader_is_named_as_the_hub(client, alice):
    oldest = history(client, alice)["items"][-1]

    assert (oldest["actor"], oldest["actor_label"]) == (None, "Hub (demo)")
    assert oldest["action_label"] == "Création du compte"


def test_filtered_by_portal(client, alice):
    page = history(client, alice, portal="soltea")

    assert {item["portal"] for item in page["items"]} == {"soltea"}
    assert page["total"] == 2


def test_r9_from_certificateurs_the_soltea_history_is_out_of_reach(client, bearer):
    from_certificateurs = bearer("alice.martin", "certificateurs")

    page = history(client, from_certificateurs)

    assert {item["portal"] for item in page["items"]} == {"certificateurs"}
    response = client.get(HISTORY, query_string={"portal": "soltea"}, headers=from_certificateurs)
    assert response.status_code == 404


def test_refusals_are_not_history(client, alice, bearer):
    client.get(f"{ADMIN}/scope", headers=bearer("chloe.roux", "certificateurs"))  # refused, audited

    assert {item["action"] for item in history(client, alice)["items"]} == {"account.create"}


def test_history_pages(client, alice):
    first = history(client, alice, per_page=3)
    second = history(client, alice, per_page=3, page=2)

    assert (len(first["items"]), len(second["items"]), first["total"]) == (3, 2, 5)
    assert history(client, alice, per_page=10**9)["per_page"] == 200


def test_another_structure_history_is_404(client, alice):
    for matricule in (BETA, "999999", "x"):
        response = client.get(f"{ADMIN}/structures/{matricule}/history", headers=alice)
        assert response.status_code == 404
    response = client.get(HISTORY, query_string={"portal": "nowhere"}, headers=alice)
    assert response.status_code == 404
    assert client.get(HISTORY, query_string={"page": "0"}, headers=alice).status_code == 400
