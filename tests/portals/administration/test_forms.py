"""« Créer un compte », « Modifier », « Supprimer » and « Historique » as the portal renders them
(R2, R7): every form posts with the session's CSRF token, the hub's refusals are shown at the
right field or as a message, the history reads in French with Paris times."""

from __future__ import annotations

import re

import pytest

from tests.portals.administration.answers import (
    ALICE,
    ALPHA,
    BRUNO,
    csrf_of,
    hub_account,
    hub_invitation,
    listing,
)
from tests.portals.conftest import page_text
from tests.portals.hub_api_party import Call


@pytest.mark.parametrize(
    "url",
    [
        "/administration/comptes",
        "/administration/comptes/nouveau",
        "/administration/comptes/7/modifier?identifiant=bruno.petit",
        "/administration/comptes/7/supprimer?identifiant=bruno.petit",
    ],
)
def test_every_administration_form_that_posts_carries_the_token(admin, hub, url):
    hub.answer("GET", f"{ALPHA}/soltea/accounts", listing(hub_account(7, BRUNO, portal="soltea")))

    page = admin.get(url).text

    posting = re.findall(r'<form method="post"', page)
    assert len(posting) >= 2  # the page's own form and « Se déconnecter »
    assert page.count('name="csrf_token"') == len(posting)
    filters = re.findall(r'<form method="get" action="([^"]+)"', page)
    assert set(filters) <= {"/administration/comptes", "/administration/historique"}  # no change


def test_creer_un_compte_shows_the_hubs_refusal_next_to_its_field(admin, hub):
    message = "L'adresse « bruno@ » n'est pas une adresse électronique valide."
    hub.answer(
        "POST",
        f"{ALPHA}/soltea/accounts",
        {"error": "invalid_field", "message": message, "field": "email"},
        status=400,
    )
    page = admin.get("/administration/comptes/nouveau").text

    response = admin.post(
        "/administration/comptes/nouveau",
        data={
            "csrf_token": csrf_of(page),
            "portail": "soltea",
            "structure": "100001",
            "last_name": "Durand",
            "first_name": "Denis",
            "email": "bruno@",
            "role": "admin",
            "data_exchange": "oui",
        },
    )

    assert response.status_code == 400
    shown = page_text(response)
    assert 'aria-invalid="true" aria-describedby="erreur-email"' in shown
    assert f'<span class="erreur-champ" id="erreur-email">{message}</span>' in shown
    assert 'value="Durand"' in shown  # what was typed is kept
    (call,) = hub.calls_to("POST", f"{ALPHA}/soltea/accounts")
    assert call.body == {
        "civility": None,
        "last_name": "Durand",
        "first_name": "Denis",
        "email": "bruno@",
        "service": None,
        "mobile_phone": None,
        "landline_phone": None,
        "role": "admin",
        "data_exchange": True,
    }


def test_creer_un_compte_shows_a_conflict_as_a_message(admin, hub):
    message = "Cette personne a déjà un compte pour cette structure sur ce portail."
    hub.answer(
        "POST",
        f"{ALPHA}/soltea/accounts",
        {"error": "already_exists", "message": message},
        status=409,
    )
    page = admin.get("/administration/comptes/nouveau").text

    response = admin.post(
        "/administration/comptes/nouveau",
        data={"csrf_token": csrf_of(page), "existing": "bruno.petit"},
    )

    assert response.status_code == 409
    assert message in page_text(response)
    assert hub.calls_to("POST", f"{ALPHA}/soltea/accounts")[0].body == {
        "existing": "bruno.petit",
        "role": "user",
        "data_exchange": False,
    }


def test_creer_un_compte_says_the_invitation_left_with_what_was_typed(admin, hub):
    denis = {"first_name": "Denis", "last_name": "Durand", "civility": None, "service": None}
    sent = hub_invitation(9, "denis@alpha.example", person=denis)
    hub.answer("POST", f"{ALPHA}/soltea/accounts", {"invitation": sent}, status=201)
    hub.answer("GET", f"{ALPHA}/soltea/accounts", listing())
    hub.answer("GET", f"{ALPHA}/soltea/invitations", {"items": [sent]})
    page = admin.get("/administration/comptes/nouveau").text

    response = admin.post(
        "/administration/comptes/nouveau",
        data={
            "csrf_token": csrf_of(page),
            "last_name": "Durand",
            "first_name": "Denis",
            "email": "denis@alpha.example",
            "data_exchange": "oui",
        },
        follow_redirects=True,
    )

    shown = page_text(response)
    assert (
        "Invitation envoyée à Denis Durand (denis@alpha.example) pour un compte sur SOLTÉA, "
        "valable jusqu'au 30/11/2026." in shown
    )
    assert "Le compte sera ouvert dès que cette personne aura accepté l'invitation" in shown
    assert "Invitation envoyée" in page_text(response).split("Invitations en attente")[1]


def test_creer_un_compte_needs_one_person_not_two(admin, hub):
    page = admin.get("/administration/comptes/nouveau").text

    response = admin.post(
        "/administration/comptes/nouveau",
        data={"csrf_token": csrf_of(page), "existing": "bruno.petit", "last_name": "Durand"},
    )

    assert response.status_code == 400
    assert "pas les deux" in page_text(response)
    assert hub.calls_to("POST", f"{ALPHA}/soltea/accounts") == []


def test_modifier_shows_the_last_administrator_refusal(admin, hub):
    message = "Cette structure doit conserver au moins un administrateur sur ce portail."

    def by_username(call: Call):
        found = call.query.get("q") == "alice.martin"
        return 200, listing(
            hub_account(3, ALICE, portal="soltea", role="admin")
        ) if found else listing()

    hub.answer("GET", f"{ALPHA}/soltea/accounts", by_username)
    hub.answer(
        "PATCH",
        "/admin/accounts/3",
        {"error": "last_administrator", "message": message},
        status=409,
    )
    url = "/administration/comptes/3/modifier?portail=soltea&identifiant=alice.martin"
    page = admin.get(url).text
    assert 'value="admin" checked' in page

    response = admin.post(
        url, data={"csrf_token": csrf_of(page), "role": "user", "data_exchange": "oui"}
    )

    assert response.status_code == 409
    assert message in page_text(response)
    assert hub.calls_to("PATCH", "/admin/accounts/3")[0].body == {"role": "user"}


def test_an_account_the_hub_does_not_list_is_a_french_404(admin, hub):
    hub.answer("GET", f"{ALPHA}/soltea/accounts", listing())

    response = admin.get("/administration/comptes/99/supprimer?identifiant=nobody")

    assert response.status_code == 404
    assert "Page introuvable" in page_text(response)


def test_historique_shows_actions_in_french_with_paris_times(admin, hub):
    hub.answer(
        "GET",
        "/admin/structures/100001/history",
        {
            "items": [
                {
                    "occurred_at": "2026-11-23T10:05:00+00:00",
                    "actor": ALICE,
                    "actor_label": "Alice Martin",
                    "action": "account.renew",
                    "action_label": "Renouvellement",
                    "portal": "certificateurs",
                    "via_portal": "soltea",
                    "target": "bruno.petit (100001, certificateurs)",
                    "before": {"role": "user", "rights": [], "expires_at": "2026-11-13T09:00:00"},
                    "after": {"role": "user", "rights": [], "expires_at": "2028-05-23T10:05:00"},
                }
            ],
            "total": 1,
            "page": 1,
            "per_page": 25,
        },
    )

    page = page_text(admin.get("/administration/historique?portail=certificateurs"))

    assert "23/11/2026 à 11:05" in page  # Paris, winter time
    assert "Alice Martin" in page
    assert "Renouvellement" in page
    assert "Certificateurs" in page
    assert "depuis SOLTÉA" in page
    assert "Expiration : 13/11/2026 → 23/05/2028" in page
    (call,) = hub.calls_to("GET", "/admin/structures/100001/history")
    assert call.query == {"portal": "certificateurs", "page": "1", "per_page": "25"}
