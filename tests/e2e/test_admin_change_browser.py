"""R11 end to end in a real browser (Debian's Chromium, no JavaScript), as issue 14's « Done
when » tells it: someone files « Changer d'administrateur » for Organisme Alpha Formation on
Certificateurs; Sophie Bernard, support operator, signs in to the console from the directory
(the demo's embedded one: the same code path as a real server, tested against slapd elsewhere),
sees the checks green and Alice Martin administering « via SOLTÉA », designates the new
administrator; the mail goes through real SMTP to the demo's mail catcher, where the new
administrator opens the invitation, chooses a password and finds « Administration » on
Certificateurs, whose « Historique » names the operator. Alice and the requester are told by
mail. Screenshots go to `test-artifacts/browser/`."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hub.config import Smtp
from hub.mail.catcher import MailCatcher
from hub.mail.sender import SmtpSender, deliver_pending
from tests.e2e.browser import DEMO_PASSWORD
from tests.e2e.test_accessibility import scripted as scripted  # the fixture, used by name
from tests.e2e.test_accessibility import violations
from tests.e2e.test_browser import page as page  # the fixture, used by name
from tests.e2e.test_browser import screenshot, sign_in_at_hub, sync_api
from tests.fixtures.ports import free_port

NEW_PASSWORD = "Relais-Administratrice-2026"
NADIA = "nadia.nouvelle@alpha.example"


@pytest.fixture
def catcher(tmp_path):
    running = MailCatcher(tmp_path / "caught-mail", free_port())
    running.start()
    yield running
    running.stop()


@pytest.fixture
def settings(settings, catcher):
    """The hub as `hub run --demo` starts it: the demo directory, mail to the catcher."""
    return replace(
        settings,
        support=replace(settings.support, demo_directory=True),
        mail_catcher=catcher.folder,
    )


def deliver(apps, catcher) -> None:
    """What `hub run`'s sender does every few seconds: the outbox over SMTP, to the catcher."""
    sender = SmtpSender(Smtp(host="127.0.0.1", port=catcher.port, timeout=5))
    report = deliver_pending(apps.session_factory, sender)
    assert report.unreachable is None


def open_mail(page, apps, subject: str):
    page.goto(f"{apps.hub}/dev/mail")
    page.get_by_role("link", name=subject).first.click()
    return page.locator("main")


def sign_in_to_console(page, apps, login: str = "sophie.support") -> None:
    page.goto(f"{apps.hub}/support")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Me connecter à la console").click()


def test_browser_r11_a_new_administrator_is_designated_by_the_support(apps, page, catcher, request):
    # The request, from the sign-in page's link.
    page.goto(f"{apps.hub}/login")
    page.get_by_role("link", name="Demander un changement d'administrateur").click()
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text("Changer d'administrateur")
    page.get_by_label("Portail concerné").select_option("certificateurs")
    page.get_by_label("Matricule (id client)").fill("100001")
    page.get_by_label("Numéro de contrat (id contrat)").fill("CER-100001")
    page.get_by_label("SIRET").fill("100 000 108 00017")
    page.get_by_label("Adresse e-mail").fill(NADIA)
    page.get_by_role("radio", name="Mme").check()
    page.get_by_label("Nom *", exact=True).fill("Nouvelle")
    page.get_by_label("Prénom").fill("Nadia")
    page.get_by_label("Service").fill("Direction")
    page.get_by_label("Téléphone portable").fill("06 12 34 56 78")
    page.get_by_label("Commentaire").fill("Notre administratrice a quitté la structure.")
    screenshot(page, request, "1-demande")
    page.get_by_role("button", name="Envoyer la demande").click()
    confirmation = page.get_by_role("status")
    sync_api.expect(confirmation).to_contain_text("a bien été enregistrée")
    number = confirmation.inner_text().split("n° ")[1].split()[0]
    screenshot(page, request, "2-numero")

    # The operator, in the console.
    sign_in_to_console(page, apps)
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Demandes de changement d'administrateur"
    )
    page.get_by_role("link", name=number).click()
    checks = page.get_by_role("table").first
    sync_api.expect(checks.get_by_text("✔ Conforme")).to_have_count(3)
    sync_api.expect(page.get_by_role("row", name="Alice Martin")).to_contain_text(
        "Administrateur (via SOLTÉA)"
    )
    screenshot(page, request, "3-verifications")
    page.get_by_role("button", name="Prendre en charge").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("Vous avez pris en charge")
    page.get_by_role("button", name="Désigner comme administrateur").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text(
        "Le nouvel administrateur est désigné"
    )
    screenshot(page, request, "4-designee")

    # The mail, through SMTP to the demo's catcher.
    deliver(apps, catcher)
    to_alice = open_mail(
        page, apps, "Nouvel administrateur de Organisme Alpha Formation sur Certificateurs"
    )
    sync_api.expect(to_alice).to_contain_text("alice.martin@alpha.example")
    sync_api.expect(to_alice).to_contain_text("le support a désigné Nadia Nouvelle")
    to_requester = open_mail(page, apps, f"Demande n° {number} traitée")
    sync_api.expect(to_requester).to_contain_text(NADIA)
    invitation = open_mail(
        page, apps, "Invitation à rejoindre Organisme Alpha Formation sur Certificateurs"
    )
    sync_api.expect(invitation).to_contain_text(NADIA)
    screenshot(page, request, "5-invitation")
    invitation.get_by_role("link", name="/invitation/").first.click()

    # The new administrator chooses a password, then goes to Certificateurs.
    page.get_by_label("Nouveau mot de passe", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirmez le nouveau mot de passe").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text(
        "Votre compte sur Certificateurs pour Organisme Alpha Formation est ouvert"
    )
    page.goto(f"{apps.certificateurs}/")
    page.get_by_role("link", name="Me connecter").click()
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenue sur Certificateurs, Nadia Nouvelle"
    )
    page.get_by_role("link", name="Administration", exact=True).click()
    page.get_by_role("link", name="Historique").first.click()
    sync_api.expect(page.get_by_role("table")).to_contain_text("Sophie Bernard (support)")
    screenshot(page, request, "6-historique")
    assert not [p for p in page.problems if "Content Security Policy" in p]  # type: ignore[attr-defined]


def test_browser_r11_a_portal_person_cannot_sign_in_to_the_console(apps, page):
    page.goto(f"{apps.hub}/support/connexion")
    sign_in_at_hub(page, "alice.martin")

    sync_api.expect(page.get_by_role("alert")).to_contain_text(
        "Identifiant ou mot de passe incorrect"
    )


def test_r11_the_console_pages_have_no_violation(apps, scripted, request):
    """axe-core on the console: sign-in, the queue, a request, the search and a structure."""
    scripted.goto(f"{apps.hub}/support/connexion")
    assert violations(scripted) == []
    scripted.goto(f"{apps.hub}/admin-change?portal=certificateurs&matricule=100001")
    scripted.get_by_label("Numéro de contrat").fill("CER-100001")
    scripted.get_by_label("SIRET").fill("10000010800017")
    scripted.get_by_label("Adresse e-mail").fill(NADIA)
    scripted.get_by_role("radio", name="Mme").check()
    scripted.get_by_label("Nom *", exact=True).fill("Nouvelle")
    scripted.get_by_label("Prénom").fill("Nadia")
    scripted.get_by_label("Téléphone portable").fill("06 12 34 56 78")
    scripted.get_by_role("button", name="Envoyer la demande").click()
    sign_in_to_console(scripted, apps)
    for step in ("queue", "request"):
        if step == "request":
            scripted.get_by_role("link", name="DA-").first.click()
            sync_api.expect(scripted.get_by_role("heading", level=1)).to_contain_text("Demande n°")
        screenshot(scripted, request, f"console-{step}")
        assert violations(scripted) == [], step
    scripted.get_by_role("link", name="Recherche").click()
    scripted.get_by_label("Matricule, SIRET, nom, e-mail ou identifiant").fill("100001")
    scripted.get_by_role("button", name="Rechercher").click()
    sync_api.expect(scripted.get_by_text("Organisme Alpha Formation").first).to_be_visible()
    assert violations(scripted) == []
    scripted.goto(f"{apps.hub}/support/structures/100001")
    screenshot(scripted, request, "console-structure")
    assert violations(scripted) == []
