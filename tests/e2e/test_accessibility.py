"""The hub's sign-in page as the guide shows it, and R5's box over it (issue 13 §7): the two
panels side by side or stacked, the order of the keyboard, the box's focus and « Fermer ». And
axe-core finds no violation on the sign-in page and the box (wide and on a phone) nor on the
portals' administration pages; these tests keep it that way.

axe-core is a script, injected by Playwright (the copy axe-playwright-python ships), so the pages
it reads are opened with JavaScript on. The hub and the portals send no script of their own
(their Content Security Policy allows none): a person without JavaScript gets the same pages.
Screenshots go to `test-artifacts/browser/`, as in `test_browser`.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.test_browser import page as page  # the fixture, used by name
from tests.e2e.test_browser import screenshot, sign_in_at_hub, sync_api

R5 = "Votre compte est expiré. Veuillez contacter votre administrateur."
WIDE = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def violations(page) -> list[str]:
    """What axe-core finds on the page as it stands: one line per rule broken, with where."""
    found = Axe().run(page).response["violations"]
    return [
        f"{rule['id']} ({rule['impact']}): {[n['target'] for n in rule['nodes']]}" for rule in found
    ]


@pytest.fixture
def scripted(page):
    """A page of a second browser context with JavaScript on (for axe-core), the same size as a
    laptop's window until a test resizes it."""
    context = page.context.browser.new_context(locale="fr-FR", viewport=WIDE)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_the_sign_in_page_shows_connexion_beside_creation_de_compte_and_above_it_on_a_phone(
    apps, page, request
):
    """The guide's page: the two panels side by side on a wide screen, stacked on a phone; the
    keyboard goes through « Connexion » first, its forgotten-password link included."""
    page.goto(f"{apps.certificateurs}/auth/login")
    connexion = page.get_by_role("region", name="Connexion à Certificateurs")
    creation = page.get_by_role("region", name="Création de compte")

    page.set_viewport_size(WIDE)
    left, right = connexion.bounding_box(), creation.bounding_box()
    assert left["x"] + left["width"] <= right["x"]
    assert left["y"] == right["y"]
    page.set_viewport_size(PHONE)
    screenshot(page, request, "telephone")
    above, below = connexion.bounding_box(), creation.bounding_box()
    assert above["y"] + above["height"] <= below["y"]
    assert above["x"] == below["x"]

    in_order = [
        page.get_by_label("Identifiant"),
        page.get_by_label("Mot de passe", exact=True),
        page.get_by_role("link", name="Mot de passe oublié ?"),
        page.get_by_role("button", name="Me connecter"),
        page.get_by_role("link", name="Créer un compte"),
    ]
    sync_api.expect(in_order[0]).to_be_focused()
    for following in in_order[1:]:
        page.keyboard.press("Tab")
        sync_api.expect(following).to_be_focused()


def test_the_sign_in_page_has_no_violation_wide_and_on_a_phone(apps, scripted, request):
    scripted.goto(f"{apps.certificateurs}/auth/login")
    for name, viewport in (("large", WIDE), ("telephone", PHONE)):
        scripted.set_viewport_size(viewport)
        screenshot(scripted, request, f"connexion-{name}")
        assert violations(scripted) == [], name

    scripted.get_by_label("Identifiant").fill("bruno.petit")
    scripted.get_by_label("Mot de passe").fill("pas le bon")
    scripted.get_by_label("Mot de passe").press("Enter")
    sync_api.expect(scripted.get_by_role("alert")).to_be_visible()
    assert violations(scripted) == []


def test_r5_the_box_over_the_sign_in_page_takes_the_focus_and_fermer_closes_it(apps, page, request):
    """R5 at the hub's door, as the guide shows it: a box over the sign-in page, the focus in
    it and nowhere else, « Prévenir mon administrateur » kept, « Fermer » showing the page
    beneath, whose form still signs in — someone else, here (no JavaScript)."""
    page.goto(f"{apps.certificateurs}/auth/login")
    sign_in_at_hub(page, "bruno.petit")

    box = page.get_by_role("dialog", name="Compte expiré")
    sync_api.expect(box).to_contain_text(R5)
    sync_api.expect(box).to_be_focused()
    screenshot(page, request, "1-boite")
    page.keyboard.press("Shift+Tab")
    sync_api.expect(page.locator(".skip:focus, .bandeau :focus, .connexion :focus")).to_have_count(
        0
    )
    box.focus()
    page.keyboard.press("Tab")
    sync_api.expect(box.get_by_role("button", name="Prévenir mon administrateur")).to_be_focused()

    page.keyboard.press("Enter")
    sync_api.expect(box).to_contain_text("Votre demande de renouvellement a été transmise")
    sync_api.expect(box).to_be_focused()
    screenshot(page, request, "2-administrateur-prevenu")
    box.get_by_role("link", name="Fermer").click()

    sync_api.expect(page.get_by_role("dialog")).to_have_count(0)
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text("Connexion à Certificateurs")
    sync_api.expect(page.get_by_label("Identifiant")).to_be_focused()
    sign_in_at_hub(page, "chloe.roux")
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenue sur Certificateurs, Chloé Roux"
    )


def test_r5_the_box_has_no_violation_wide_and_on_a_phone(apps, scripted, request):
    scripted.goto(f"{apps.certificateurs}/auth/login")
    sign_in_at_hub(scripted, "bruno.petit")
    box = scripted.get_by_role("dialog", name="Compte expiré")
    sync_api.expect(box).to_contain_text(R5)
    for name, viewport in (("large", WIDE), ("telephone", PHONE)):
        scripted.set_viewport_size(viewport)
        screenshot(scripted, request, f"r5-{name}")
        assert violations(scripted) == [], name

    box.get_by_role("button", name="Prévenir mon administrateur").click()
    sync_api.expect(box).to_contain_text("Votre demande de renouvellement a été transmise")
    assert violations(scripted) == []


def test_the_administration_pages_have_no_violation(apps, scripted, request):
    scripted.goto(f"{apps.soltea}/auth/login")
    sign_in_at_hub(scripted, "alice.martin")
    scripted.get_by_role("link", name="Administration", exact=True).click()
    assert violations(scripted) == []
    scripted.get_by_role("link", name="Gérer les comptes existants").first.click()
    scripted.get_by_label("Portail").select_option(label="Certificateurs")
    scripted.get_by_role("button", name="Filtrer").click()
    sync_api.expect(scripted.get_by_role("row").filter(has_text="bruno.petit")).to_be_visible()
    screenshot(scripted, request, "gerer-les-comptes")
    assert violations(scripted) == []
    scripted.get_by_role("link", name="Créer un compte").first.click()
    assert violations(scripted) == []


def test_r11_the_admin_change_request_has_no_violation_empty_with_errors_and_filed(
    apps, scripted, request
):
    """« Changer d'administrateur » (issue 14): the form, the form sent back with every field to
    correct (the summary, the messages beside their fields), and the page of the request's
    number."""
    scripted.goto(f"{apps.hub}/admin-change?portal=certificateurs&matricule=100001")
    for name, viewport in (("large", WIDE), ("telephone", PHONE)):
        scripted.set_viewport_size(viewport)
        screenshot(scripted, request, f"changer-administrateur-{name}")
        assert violations(scripted) == [], name

    scripted.set_viewport_size(WIDE)
    scripted.get_by_label("SIRET").fill("10000010800018")
    scripted.locator("form").evaluate("form => form.noValidate = true")
    scripted.get_by_role("button", name="Envoyer la demande").click()
    sync_api.expect(scripted.get_by_role("alert")).to_contain_text("corrigez les champs signalés")
    screenshot(scripted, request, "changer-administrateur-erreurs")
    assert violations(scripted) == []

    scripted.get_by_label("Numéro de contrat").fill("CER-100001")
    scripted.get_by_label("SIRET").fill("10000010800017")
    scripted.get_by_label("Adresse e-mail").fill("nadia.benali@alpha.example")
    scripted.get_by_label("Mme", exact=True).check()
    scripted.get_by_label("Nom *", exact=True).fill("Benali")
    scripted.get_by_label("Prénom").fill("Nadia")
    scripted.get_by_label("Téléphone portable").fill("06 12 34 56 78")
    scripted.get_by_role("button", name="Envoyer la demande").click()
    sync_api.expect(scripted.get_by_role("status")).to_contain_text("a bien été enregistrée")
    screenshot(scripted, request, "changer-administrateur-enregistree")
    assert violations(scripted) == []
