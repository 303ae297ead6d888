"""« Mes informations » (R6, R14) through the hub's API: one identity shown and edited from any
portal, the hub's French refusal shown at the field, and deleting one's own account on this
portal after a confirmation step — refused for the last administrator."""

from __future__ import annotations

from tests.e2e.browser import text


def test_r14_contact_details_edited_on_certificateurs_show_on_soltea(apps, browser):
    browser.sign_in(apps.certificateurs, "alice.martin")
    form = browser.get(f"{apps.certificateurs}/mes-informations/modifier")

    saved = browser.submit(
        form,
        {"service": "Qualité", "mobile_phone": "06 12 34 56 78", "civility": "Mme"},
        action="/mes-informations/modifier",
    )

    assert saved.url == f"{apps.certificateurs}/mes-informations"
    assert "Vos informations ont été enregistrées." in text(saved)
    on_soltea = text(browser.get(f"{apps.soltea}/mes-informations"))  # signs in by SSO
    assert "Identifiant alice.martin" in on_soltea
    assert "Service Qualité" in on_soltea
    assert "Téléphone portable 0612345678" in on_soltea
    assert "Adresse électronique alice.martin@alpha.example" in on_soltea


def test_r6_a_refused_change_shows_the_hubs_message_and_changes_nothing(apps, browser):
    browser.sign_in(apps.soltea, "bruno.petit")
    form = browser.get(f"{apps.soltea}/mes-informations/modifier")

    refused = browser.submit(
        form, {"landline_phone": "pas un numéro", "service": "Paie"}, action="/modifier"
    )

    assert refused.status_code == 400
    page = text(refused)
    assert "Le numéro « pas un numéro » n'est pas un numéro de téléphone valide" in page
    assert 'value="pas un numéro"' in refused.text  # what was typed is kept for correction
    assert 'aria-invalid="true" aria-describedby="erreur"' in refused.text
    assert "Service Paie" not in text(browser.get(f"{apps.soltea}/mes-informations"))


def test_r6_chloe_deletes_her_certificateurs_account_after_confirming(apps, browser):
    browser.sign_in(apps.certificateurs, "chloe.roux")
    details = browser.get(f"{apps.certificateurs}/mes-informations")
    assert "Organisme Alpha Formation (100001)" in text(details)

    confirmation = browser.get(f"{apps.certificateurs}/mes-informations/supprimer/100001")
    assert "Confirmer la suppression" in text(confirmation)
    assert "Chloé Roux" in text(browser.get(f"{apps.certificateurs}/"))  # nothing deleted yet

    deleted = browser.submit(confirmation, action="/supprimer/100001")

    assert deleted.url == f"{apps.certificateurs}/connexion"
    assert "Votre compte sur ce portail a été supprimé." in text(deleted)
    again = browser.sign_in(apps.certificateurs)
    assert "Vous n'avez pas de compte sur ce portail." in text(again)


def test_r6_the_last_administrator_cannot_delete_their_account(apps, browser):
    browser.sign_in(apps.soltea, "alice.martin")
    confirmation = browser.get(f"{apps.soltea}/mes-informations/supprimer/100001")

    refused = browser.submit(confirmation, action="/supprimer/100001")

    assert refused.status_code == 409
    assert "Cette structure doit conserver au moins un administrateur" in text(refused)
    assert "Bienvenue sur SOLTÉA, Alice Martin" in text(browser.get(f"{apps.soltea}/"))


def test_a_delegated_role_is_not_offered_for_deletion(apps, browser):
    browser.sign_in(apps.certificateurs, "alice.martin")

    page = text(browser.get(f"{apps.certificateurs}/mes-informations"))

    assert "Supprimer mon compte" not in page
    assert (
        browser.get(f"{apps.certificateurs}/mes-informations/supprimer/100001").status_code == 404
    )
