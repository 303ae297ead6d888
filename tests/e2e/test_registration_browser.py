"""Registration in a real browser (Debian's Chromium driven by Playwright, no JavaScript), clicking
and typing what a person does, from Certificateurs' « Créer un compte » to its home page as the
structure's first administrator (R1, R12). Screenshots of every step go to
`test-artifacts/browser/` for a person to look at; the pages must work under the hub's Content
Security Policy."""

from __future__ import annotations

from sqlalchemy import select

from hub.mail.models import OutboxMessage
from tests.e2e.test_browser import page as page  # the fixture, used by name
from tests.e2e.test_browser import screenshot, sync_api
from tests.idp.registering import NEW_PASSWORD as PASSWORD
from tests.idp.registering import VALIDATION_LINK


def validation_link(apps) -> str:
    with apps.session_factory() as session:
        body = session.scalar(
            select(OutboxMessage.text_body).filter_by(template="registration_validation")
        )
    return VALIDATION_LINK.search(body).group(0)


def test_browser_certif_beta_registers_on_certificateurs(apps, page, request):
    page.goto(f"{apps.certificateurs}/")
    page.get_by_role("link", name="Créer un compte").click()
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Créer un compte sur Certificateurs"
    )
    page.get_by_label("Matricule (id client)").fill("10O002")
    page.get_by_label("Numéro de contrat Certificateurs").fill("CER-100002")
    page.get_by_role("button", name="Continuer").click()
    sync_api.expect(page.get_by_role("alert")).to_contain_text(
        "doit être composé uniquement de chiffres"
    )
    screenshot(page, request, "1-matricule-refuse")
    page.get_by_label("Matricule (id client)").fill("100 002")
    page.get_by_role("button", name="Continuer").click()

    sync_api.expect(page.get_by_role("definition").first).to_have_text(
        "Certif Beta (matricule 100002)"
    )
    page.get_by_label("Mme").check()
    page.get_by_label("Nom", exact=True).fill("Lefèvre")
    page.get_by_label("Prénom").fill("Camille")
    page.get_by_label("Adresse e-mail").fill("camille.lefevre@beta.example")
    page.get_by_label("Service (facultatif)").fill("Certification")
    page.get_by_label("J'ai lu et j'accepte").check()
    screenshot(page, request, "2-coordonnees")
    page.get_by_role("button", name="Recevoir le lien de validation").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text(
        "Un courriel de validation vient d'être envoyé à camille.lefevre@beta.example"
    )
    screenshot(page, request, "3-courriel-envoye")

    page.goto(validation_link(apps))
    sync_api.expect(page.get_by_text("Votre identifiant sera camille.lefevre")).to_be_visible()
    page.get_by_label("Mot de passe", exact=True).fill("toutenminuscules")
    page.get_by_label("Confirmez le mot de passe").fill("toutenminuscules")
    page.get_by_role("button", name="Créer mon compte").click()
    sync_api.expect(page.get_by_role("alert")).to_contain_text("Votre compte n'a pas été créé")
    screenshot(page, request, "4-mot-de-passe-refuse")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_label("Confirmez le mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Créer mon compte").click()

    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenue sur Certificateurs, Camille Lefèvre"
    )
    sync_api.expect(page.get_by_role("link", name="Administration", exact=True)).to_be_visible()
    screenshot(page, request, "5-connectee-sur-certificateurs")
    assert not [p for p in page.problems if "Content Security Policy" in p]  # type: ignore[attr-defined]
