"""Registration end to end (issue 6 §1; R1, R10, R12): the hub and both portals on loopback
with real HTTP between them, and the hub's mail delivered by its sender to a real SMTP server
(aiosmtpd) where the person reads it — as `hub run` does, once a second.

« Certif Beta » registers on Certificateurs from the portal's « Créer un compte »
(`prompt=create`), and its first administrator lands signed in on the portal; a second person
trying the same structure is told who that is. Also the e-mail change of « Mes informations »,
validated from the mail the new address receives."""

from __future__ import annotations

import re
from email.message import EmailMessage

from hub.clock import utcnow
from hub.mail.sender import SmtpSender, deliver_pending
from tests.e2e.browser import Browser, text
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.smtp import smtp_server as smtp_server  # the fixture, used by name
from tests.idp.registering import BETA, CAMILLE
from tests.idp.registering import NEW_PASSWORD as PASSWORD


def deliver(apps, smtp_server: SmtpServer, count: int) -> list[EmailMessage]:
    """What `hub run`'s mail worker does: send the outbox to the SMTP server; the messages
    received so far once `count` have arrived."""
    deliver_pending(apps.session_factory, SmtpSender(smtp_server.smtp()), now=utcnow())
    return smtp_server.wait_for(count)


def body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message: EmailMessage, path: str) -> str:
    match = re.search(rf"http://\S+{re.escape(path)}\S+", body(message))
    assert match, f"no {path} link in « {message['Subject']} »"
    return match.group(0)


def create_account(browser: Browser, portal: str, structure: dict[str, str]):
    """« Créer un compte » on the portal's « Connexion », then step 1 at the hub."""
    connexion = browser.get(f"{portal}/connexion")
    assert "Créer un compte" in text(connexion)
    step_one = browser.get(f"{portal}/auth/create-account")
    assert "Étape 1 sur 3 : votre structure" in text(step_one)
    return browser.submit(step_one, structure, action="/register")


def test_r1_r12_certif_beta_registers_from_certificateurs_and_lands_there_as_first_admin(
    apps, browser, smtp_server
):
    step_two = create_account(browser, apps.certificateurs, BETA)
    sent = browser.submit(step_two, CAMILLE, action="/register/person")
    assert "Un courriel de validation vient d'être envoyé à camille.lefevre@beta.example" in text(
        sent
    )

    (validation,) = deliver(apps, smtp_server, 1)
    assert validation["To"] == "camille.lefevre@beta.example"
    assert validation["Subject"] == (
        "Validez votre adresse e-mail pour créer votre compte sur Certificateurs"
    )
    password_page = browser.get(link_in(validation, "/register/confirm/"))
    assert "Votre identifiant sera camille.lefevre" in text(password_page)
    landed = browser.submit(
        password_page, {"password": PASSWORD, "password_confirmation": PASSWORD}
    )

    assert landed.url == f"{apps.certificateurs}/"
    page = text(landed)
    assert "Bienvenue sur Certificateurs, Camille Lefèvre" in page
    assert "Administration" in page  # R1: the first admin manages the structure's accounts
    welcome = deliver(apps, smtp_server, 2)[1]
    assert welcome["Subject"] == "Votre compte sur Certificateurs est créé"
    assert "Identifiant : camille.lefevre" in body(welcome)
    again = Browser().sign_in(apps.certificateurs, "camille.lefevre", password=PASSWORD)
    assert "Bienvenue sur Certificateurs, Camille Lefèvre" in text(again)  # R14: one identity

    second = create_account(Browser(), apps.certificateurs, BETA)

    assert second.status_code == 409
    assert (
        "Votre structure dispose déjà d'un administrateur : Camille Lefèvre. Rapprochez-vous de "
        "cette personne pour qu'elle vous crée un compte."
    ) in text(second)


def test_r10_registering_alpha_on_certificateurs_names_alice_martin(apps, browser):
    refused = create_account(
        browser, apps.certificateurs, {**BETA, "matricule": "100001", "contract": "CER-100001"}
    )

    assert refused.status_code == 409
    assert "dispose déjà d'un administrateur : Alice Martin." in text(refused)


def test_an_email_change_on_mes_informations_applies_once_the_new_address_confirms(
    apps, browser, smtp_server
):
    browser.sign_in(apps.certificateurs, "alice.martin")
    form = browser.get(f"{apps.certificateurs}/mes-informations/modifier")

    saved = browser.submit(
        form, {"email": "alice@nouvelle.example"}, action="/mes-informations/modifier"
    )

    assert "Un courriel de confirmation a été envoyé à alice@nouvelle.example." in text(saved)
    assert "Adresse électronique alice.martin@alpha.example" in text(saved)  # not yet
    messages = deliver(apps, smtp_server, 2)
    by_recipient = {message["To"]: message for message in messages}
    assert "alice@nouvelle.example" in body(by_recipient["alice.martin@alpha.example"])
    confirmation = browser.get(link_in(by_recipient["alice@nouvelle.example"], "/email/confirm/"))
    done = browser.submit(confirmation)
    assert "Votre adresse e-mail est désormais alice@nouvelle.example." in text(done)
    mine = text(browser.get(f"{apps.certificateurs}/mes-informations"))
    assert "Adresse électronique alice@nouvelle.example" in mine
