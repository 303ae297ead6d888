"""R14 end to end over real HTTP (issue 6 §2): a person who forgot their password gets a
temporary one by mail from the hub's sign-in page, must choose a new one, and lands signed in
on the portal they came from; a signed-in person changes theirs from « Mes informations »."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.demo import DEMO_PASSWORD
from hub.mail.models import OutboxMessage
from hub.portals.models import Portal
from tests.e2e.browser import Browser, text

NEW_PASSWORD = "Mardi-Vingt-Quatre-26"


def temporary_password_mailed_to(session, address: str) -> str:
    session.rollback()
    mail = session.scalar(
        select(OutboxMessage).filter_by(recipient=address, template="password_temporary")
    )
    assert mail is not None, "no temporary password was mailed"
    return re.search(r"Mot de passe temporaire : (\S+)", mail.text_body).group(1)


def link(response, label: str) -> str:
    match = re.search(rf'<a[^>]+href="([^"]+)"[^>]*>{re.escape(label)}</a>', response.text)
    assert match, f"no link « {label} » on {response.url}"
    return match.group(1).replace("&amp;", "&")


def test_r14_a_forgotten_password_ends_signed_in_on_the_portal(apps, browser, session):
    sign_in_page = browser.get(f"{apps.soltea}/auth/login")
    forgot_page = browser.get(apps.hub + link(sign_in_page, "Mot de passe oublié ?"))
    sent = browser.submit(forgot_page, {"login": "bruno.petit"}, action="/password/forgot")
    assert "un courriel contenant un mot de passe temporaire" in text(sent)

    back = browser.get(apps.hub + link(sent, "Retour à la connexion"))
    temporary = temporary_password_mailed_to(session, "bruno.petit@alpha.example")
    forced = browser.submit(back, {"username": "bruno.petit", "password": temporary})
    assert "Choisissez votre nouveau mot de passe" in text(forced)
    landed = browser.submit(
        forced, {"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD}
    )

    assert landed.url == f"{apps.soltea}/"
    assert "Bruno Petit" in text(landed)
    other = Browser()
    assert "Bruno Petit" in text(other.sign_in(apps.soltea, "bruno.petit", password=NEW_PASSWORD))


def test_r14_a_signed_in_person_changes_their_password_from_mes_informations(
    apps, browser, session
):
    browser.sign_in(apps.soltea, "alice.martin")
    mine = browser.get(f"{apps.soltea}/mes-informations")
    change_page = browser.get(link(mine, "Modifier mon mot de passe"))

    changed = browser.submit(
        change_page,
        {
            "current_password": DEMO_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirmation": NEW_PASSWORD,
        },
    )

    assert "Votre mot de passe a été modifié." in text(changed)
    registered = session.scalar(select(Portal.base_url).filter_by(code="soltea"))
    assert link(changed, "Retourner sur SOLTÉA") == registered  # never an address from the request
    other = Browser()
    assert "Alice Martin" in text(other.sign_in(apps.soltea, "alice.martin", password=NEW_PASSWORD))
