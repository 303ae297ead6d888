"""« Gérer les comptes existants » as the portal renders it (R4, R6, R9, R15): the menu, the
« Portail » filter, the table, « Renouveler » with the page's idempotency key, « Exporter (CSV) »,
and the hub's refusals or absence shown in French, never as a 500."""

from __future__ import annotations

import re

from portals.kit.admin.accounts import renewal_notes
from tests.portals.administration.answers import (
    ALICE,
    ALPHA,
    BRUNO,
    DELEGATED_ALICE,
    csrf_of,
    hub_account,
    hub_invitation,
    key_of,
    listing,
    rows_of,
)
from tests.portals.conftest import account, claims, page_text, sign_in


def test_r15_an_admin_sees_administration_and_its_three_pages(admin):
    home = page_text(admin.get("/"))
    assert '<a href="/administration">Administration</a>' in home

    page = page_text(admin.get("/administration"))

    for entry in ("Gérer les comptes existants", "Créer un compte", "Historique"):
        assert entry in page


def test_r6_a_user_has_no_menu_and_is_refused_the_pages(app, client, hub):
    sign_in(app, client, claims(account(role="user"), sub="sub-chloe"))

    assert "Administration" not in page_text(client.get("/"))
    for url in ("/administration", "/administration/comptes", "/administration/historique"):
        response = client.get(url)
        assert response.status_code == 403
        assert "réservée aux administrateurs" in page_text(response)
    assert hub.calls == []  # the portal refuses before asking the hub (which refuses too)


def test_r9_the_portail_filter_lists_the_managed_portals_with_this_one_chosen(admin, hub):
    hub.answer("GET", f"{ALPHA}/soltea/accounts", listing())

    page = page_text(admin.get("/administration/comptes"))

    options = re.findall(r'<option value="(\w+)"( selected)?>([^<]+)</option>', page)
    assert options[:2] == [
        ("soltea", " selected", "SOLTÉA"),
        ("certificateurs", "", "Certificateurs"),
    ]
    assert "Aucun compte ne correspond à ces critères." in page
    (call,) = hub.calls_to("GET", f"{ALPHA}/soltea/accounts")
    assert call.query == {"sort": "expires_at", "page": "1", "per_page": "25"}
    assert call.authorization == "Bearer access-key-sid-1-sub-alice"


def test_the_filters_travel_to_the_hub(admin, hub):
    hub.answer("GET", f"{ALPHA}/certificateurs/accounts", listing(total=60, page=2))

    page = page_text(
        admin.get(
            "/administration/comptes?portail=certificateurs&q=petit&statut=expire&tri=-nom&page=2"
        )
    )

    (call,) = hub.calls_to("GET", f"{ALPHA}/certificateurs/accounts")
    assert call.query == {
        "q": "petit",
        "status": "expired",
        "sort": "-name",
        "page": "2",
        "per_page": "25",
    }
    assert "Page 2 sur 3" in page
    assert "Page précédente" in page
    assert "Page suivante" in page
    assert (
        "portail=certificateurs&amp;structure=100001&amp;q=petit&amp;statut=expire&amp;tri=-nom&amp;page=3"
        in admin.get(
            "/administration/comptes?portail=certificateurs&q=petit&statut=expire&tri=-nom&page=2"
        ).text
    )


def test_unknown_filter_values_fall_back_to_the_defaults(admin, hub):
    hub.answer("GET", f"{ALPHA}/soltea/accounts", listing())

    admin.get("/administration/comptes?portail=autre&statut=tous&tri=prenom&page=-3")

    (call,) = hub.calls_to("GET", f"{ALPHA}/soltea/accounts")
    assert call.query == {"sort": "expires_at", "page": "1", "per_page": "25"}


def test_r9_the_table_reads_as_people_read_it(admin, hub):
    hub.answer(
        "GET",
        f"{ALPHA}/certificateurs/accounts",
        listing(
            hub_account(7, BRUNO, expires_at="2028-05-21T22:30:00+00:00", status="valid"),
            hub_account(
                8,
                ALICE | {"username": "chloe.roux", "first_name": "Chloé", "last_name": "Roux"},
                data_exchange=False,
                status="expiring",
            ),
            delegated=[DELEGATED_ALICE],
        ),
    )

    response = admin.get("/administration/comptes?portail=certificateurs")
    page = page_text(response)

    for header in (
        "Nom",
        "Prénom",
        "Identifiant",
        "Rôle",
        "Transmettre et consulter les données",
        "Date d'expiration",
        "Statut",
    ):
        assert f'<th scope="col">{header}</th>' in page
    rows = rows_of(page)
    assert "Administrateur (via SOLTÉA)" in rows["Martin"]
    assert "Renouveler" not in rows["Martin"]  # R9: derived, managed on SOLTÉA
    assert 'name="ids"' not in rows["Martin"]
    assert "22/05/2028" in rows["Petit"]
    assert "Valide" in rows["Petit"]
    assert "Oui" in rows["Petit"]
    assert "Utilisateur" in rows["Petit"]
    assert "Expire bientôt" in rows["Roux"]
    assert "Non" in rows["Roux"]
    assert "Administrateur par délégation" in page
    assert "Page 1 sur 1" in page


def test_r4_renouveler_sends_the_pages_key_and_confirms_the_new_date(admin, hub):
    hub.answer("GET", f"{ALPHA}/certificateurs/accounts", listing(hub_account(7, BRUNO)))
    hub.answer(
        "POST",
        "/admin/accounts/renew",
        {"accounts": [{"id": 7, "expires_at": "2028-05-21T22:30:00+00:00"}]},
    )
    page = admin.get("/administration/comptes?portail=certificateurs&statut=expire").text

    response = admin.post(
        "/administration/comptes/renouveler",
        data={
            "csrf_token": csrf_of(page),
            "idempotency_key": key_of(page),
            "compte": "7",
            "portail": "certificateurs",
            "structure": "100001",
            "statut": "expire",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == (
        "/administration/comptes?portail=certificateurs&structure=100001&statut=expire"
    )
    (call,) = hub.calls_to("POST", "/admin/accounts/renew")
    assert call.body == {"ids": [7], "idempotency_key": key_of(page)}
    shown = page_text(admin.get(response.headers["Location"]))
    assert (
        '<p class="note note-succes" role="status">Compte renouvelé jusqu\'au 22/05/2028.</p>'
        in shown
    )


def test_r4_each_render_of_the_list_has_its_own_key(admin, hub):
    hub.answer("GET", f"{ALPHA}/soltea/accounts", listing(hub_account(7, BRUNO, portal="soltea")))

    first, second = (key_of(admin.get("/administration/comptes").text) for _ in range(2))

    assert first != second


def test_r4_renouveler_la_selection_renews_the_ticked_accounts(admin, hub):
    hub.answer("GET", f"{ALPHA}/soltea/accounts", listing(hub_account(7, BRUNO, portal="soltea")))
    hub.answer(
        "POST",
        "/admin/accounts/renew",
        {
            "accounts": [
                {"id": 7, "expires_at": "2028-05-21T22:30:00+00:00"},
                {"id": 8, "expires_at": "2029-01-10T10:00:00+00:00"},
            ]
        },
    )
    page = admin.get("/administration/comptes").text

    response = admin.post(
        "/administration/comptes/renouveler",
        data={"csrf_token": csrf_of(page), "idempotency_key": key_of(page), "ids": ["7", "8", "x"]},
        follow_redirects=True,
    )

    assert hub.calls_to("POST", "/admin/accounts/renew")[0].body["ids"] == [7, 8]
    shown = page_text(response)
    assert "2 comptes renouvelés." in shown
    assert "Compte renouvelé jusqu'au 22/05/2028." in shown
    assert "Compte renouvelé jusqu'au 10/01/2029." in shown


def test_renouveler_without_the_sessions_token_is_refused_and_the_hub_not_asked(admin, hub):
    hub.answer("GET", f"{ALPHA}/soltea/accounts", listing(hub_account(7, BRUNO, portal="soltea")))
    page = admin.get("/administration/comptes").text

    response = admin.post(
        "/administration/comptes/renouveler",
        data={"idempotency_key": key_of(page), "compte": "7", "csrf_token": "forged"},
    )

    assert response.status_code == 400
    assert "Le formulaire a expiré" in page_text(response)
    assert hub.calls_to("POST", "/admin/accounts/renew") == []


def test_exporter_csv_reads_every_page_with_bom_semicolons_and_paris_dates(admin, hub):
    pages = {
        "1": listing(
            hub_account(7, BRUNO, expires_at="2028-05-21T22:30:00+00:00"),
            total=2,
            delegated=[DELEGATED_ALICE],
        ),
        "2": listing(
            hub_account(
                8,
                {"username": "=cmd", "first_name": "Chloé", "last_name": "Roux"},
                data_exchange=False,
            ),
            total=2,
        ),
    }
    hub.answer(
        "GET", f"{ALPHA}/certificateurs/accounts", lambda call: (200, pages[call.query["page"]])
    )

    response = admin.get("/administration/comptes/export.csv?portail=certificateurs&statut=expire")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="comptes-certificateurs-100001-' in response.headers["Content-Disposition"]
    body = response.get_data().decode("utf-8")
    lines = body.split("\r\n")
    assert lines[0] == (
        "\ufeffNom;Prénom;Identifiant;Adresse électronique;Service;Rôle;"
        "Transmettre et consulter les données;Date de création;Date d'expiration;Statut"
    )
    assert lines[1].startswith(
        "Petit;Bruno;bruno.petit;bruno.petit@alpha.example;;Utilisateur;Oui;"
    )
    assert ";22/05/2028;Expiré" in lines[1]
    assert lines[2].startswith("Roux;Chloé;'=cmd;")  # never a formula
    assert "Administrateur (via SOLTÉA)" not in body  # Alice is valid: the « Expiré » filter
    assert [c.query["page"] for c in hub.calls_to("GET", f"{ALPHA}/certificateurs/accounts")] == [
        "1",
        "2",
    ]
    assert {c.query["status"] for c in hub.calls_to("GET", f"{ALPHA}/certificateurs/accounts")} == {
        "expired"
    }


def test_a_pair_the_hub_refuses_is_a_french_page_not_a_500(admin, hub):
    hub.answer(
        "GET",
        f"{ALPHA}/certificateurs/accounts",
        {"error": "not_found", "message": "Élément introuvable."},
        status=404,
    )

    response = admin.get("/administration/comptes?portail=certificateurs")

    assert response.status_code == 404
    assert "Élément introuvable" in page_text(response)
    assert "Retour à l'administration" in page_text(response)


def test_a_scope_the_hub_refuses_is_the_restricted_page(admin, hub):
    message = "Vous n'êtes pas autorisé à effectuer cette action."
    hub.answer("GET", "/admin/scope", {"error": "forbidden", "message": message}, status=403)

    response = admin.get("/administration/comptes")

    assert response.status_code == 403
    assert "Accès réservé" in page_text(response)
    assert message in page_text(response)


def test_the_hub_down_gives_the_unavailable_page(make_app, closed_port_issuer):
    app = make_app("certificateurs", issuer=closed_port_issuer)
    client = app.test_client()
    sign_in(app, client, claims(account(role="admin", via="soltea", rights=())))

    response = client.get("/administration/comptes")

    assert response.status_code == 503
    assert "Service d'authentification indisponible" in page_text(response)


def test_r4_a_large_selection_is_confirmed_in_a_few_lines_by_date():
    renewed = [{"id": i, "expires_at": "2028-05-21T22:30:00+00:00"} for i in range(1, 499)] + [
        {"id": 499, "expires_at": "2029-01-10T10:00:00+00:00"},
        {"id": 500, "expires_at": "2027-12-31T23:30:00+00:00"},  # 1 January in Paris
    ]

    assert renewal_notes(renewed) == [
        "500 comptes renouvelés.",
        "Compte renouvelé jusqu'au 01/01/2028.",
        "498 comptes renouvelés jusqu'au 22/05/2028.",
        "Compte renouvelé jusqu'au 10/01/2029.",
    ]


def test_r2_invitations_waiting_are_listed_above_the_accounts_as_typed(admin, hub):
    """Issue 12 §2: until the person accepts, the list shows « Invitation envoyée » with what
    the administrator typed, and the actions « Renvoyer » and « Annuler »."""
    hub.answer("GET", f"{ALPHA}/soltea/accounts", listing(hub_account(7, BRUNO, portal="soltea")))
    hub.answer(
        "GET",
        f"{ALPHA}/soltea/invitations",
        {
            "items": [
                hub_invitation(4, "nobody.here", role="admin"),
                hub_invitation(3, "emile@alpha.example", status="expired"),
            ]
        },
    )

    page = admin.get("/administration/comptes").text
    shown = page_text(admin.get("/administration/comptes"))

    invitations = shown.split("Invitations en attente")[1].split("Comptes de")[0]
    assert "nobody.here" in invitations
    assert "Invitation envoyée" in invitations
    assert "Invitation expirée" in invitations
    assert "Administrateur" in invitations
    assert 'formaction="/administration/invitations/4/renvoyer"' in page
    assert 'formaction="/administration/invitations/3/annuler"' in page


def test_r2_renvoyer_and_annuler_an_invitation_ask_the_hub_and_say_so(admin, hub):
    hub.answer("GET", f"{ALPHA}/soltea/accounts", listing())
    waiting = hub_invitation(4, "nobody.here", expires_at="2026-12-01T10:00:00+00:00")
    hub.answer("GET", f"{ALPHA}/soltea/invitations", {"items": [waiting]})
    hub.answer("POST", "/admin/invitations/4/send", waiting)
    hub.answer("DELETE", "/admin/invitations/4", None, status=204)
    page = admin.get("/administration/comptes").text
    form = {"csrf_token": csrf_of(page), "portail": "soltea", "structure": "100001"}

    sent = admin.post("/administration/invitations/4/renvoyer", data=form)
    sent_note = page_text(admin.get(sent.headers["Location"]))
    cancelled = admin.post("/administration/invitations/4/annuler", data=form)
    cancelled_note = page_text(admin.get(cancelled.headers["Location"]))
    forged = admin.post("/administration/invitations/4/annuler", data=form | {"csrf_token": "x"})

    assert sent.status_code == cancelled.status_code == 302
    assert "Invitation renvoyée à nobody.here (valable jusqu'au 01/12/2026)." in sent_note
    assert "Invitation annulée." in cancelled_note
    assert forged.status_code == 400
    assert len(hub.calls_to("POST", "/admin/invitations/4/send")) == 1
    assert len(hub.calls_to("DELETE", "/admin/invitations/4")) == 1
