"""The journeys of issue 4, end to end: the hub and both portals on loopback with real HTTP
between them (tests/e2e/servers.py), a `requests.Session` per browser, on each hub database.

Single sign-on (R14), R5's expired message on one portal while the other works, R7's deposit
menus, single logout over the back channel, and an account expiring mid-session (time travel).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urljoin

import time_machine
from sqlalchemy import select

from hub.accounts.models import Account
from hub.clock import utcnow
from hub.demo import DEMO_PASSWORD
from hub.oidc.clients import find_client
from hub.portals.models import Portal
from hub.users.models import User
from tests.e2e.browser import Browser, asked_for_password, forms_of, text
from tests.fixtures.ports import closed_port

R5 = "Votre compte est expiré. Veuillez contacter votre administrateur."
NO_RIGHT = (
    "Votre compte ne dispose pas du droit « Transmettre et consulter les données ». "
    "Contactez votre administrateur."
)
DEPOSIT_MENUS = ("Déposer un fichier", "Historique des dépôts", "Accusés")


def account_of(session, username: str, portal: str) -> Account:
    return session.scalar(
        select(Account)
        .join(Account.user)
        .join(Account.portal)
        .where(User.username == username, Portal.code == portal)
    )


def test_r14_alice_signs_in_on_soltea_then_opens_certificateurs_without_a_password(apps, browser):
    on_soltea = browser.sign_in(apps.soltea, "alice.martin")
    assert on_soltea.url == f"{apps.soltea}/"
    assert "Bienvenue sur SOLTÉA, Alice Martin" in text(on_soltea)

    on_certificateurs = browser.sign_in(apps.certificateurs)

    assert not asked_for_password(on_certificateurs)
    assert on_certificateurs.url == f"{apps.certificateurs}/"
    assert "Bienvenue sur Certificateurs, Alice Martin" in text(on_certificateurs)
    assert "Administrateur (via SOLTÉA)" in text(on_certificateurs)  # R9


def test_r8_mes_portails_lists_both_portals_and_where_alice_is_connected(apps, browser):
    browser.sign_in(apps.soltea, "alice.martin")

    page = text(browser.get(f"{apps.soltea}/mes-portails"))

    assert "Certificateurs Organisme Alpha Formation (100001) Administrateur (via SOLTÉA)" in page
    assert "SOLTÉA Organisme Alpha Formation (100001) Administrateur" in page
    assert page.count("Valide") == 2
    assert page.count(" connecté") - page.count("non connecté") == 1  # SOLTÉA only, so far


def test_r5_bruno_gets_the_exact_message_on_certificateurs_while_soltea_works(apps, browser):
    assert "Bruno Petit" in text(browser.sign_in(apps.soltea, "bruno.petit"))

    refused = browser.sign_in(apps.certificateurs)

    assert refused.url == f"{apps.certificateurs}/connexion"
    assert R5 in text(refused)
    assert "Fermer" in text(refused)
    assert "Bruno Petit" not in text(refused)
    closed = browser.get(f"{apps.certificateurs}/connexion")  # « Fermer »
    assert R5 not in text(closed)
    still = browser.get(f"{apps.soltea}/")
    assert "Bienvenue sur SOLTÉA, Bruno Petit" in text(still)


def test_r5_bruno_signing_in_first_on_certificateurs_reads_the_exact_message(apps, browser):
    refused = browser.sign_in(apps.certificateurs, "bruno.petit")

    assert R5 in text(refused)
    assert "Bruno Petit" not in text(browser.get(f"{apps.certificateurs}/"))
    assert "Bienvenue sur SOLTÉA, Bruno Petit" in text(browser.sign_in(apps.soltea))


def test_r5_an_account_expiring_between_the_door_and_the_code_exchange_reads_the_message(
    apps, browser, session
):
    """Issue 12 §5: the code was issued while Chloé's account was valid; it expires before
    Certificateurs exchanges the code, and she reads R5's sentence, not a generic failure."""
    page = browser.get(f"{apps.certificateurs}/auth/login")
    (form,) = [f for f in forms_of(page.text) if any(t == "password" for _, t in f.inputs)]
    fields = form.fields | {"username": "chloe.roux", "password": DEMO_PASSWORD}
    target = urljoin(page.url, form.action or page.url)
    hop = browser.session.post(target, data=fields, allow_redirects=False, timeout=30)
    location = urljoin(target, hop.headers["Location"])
    while not location.startswith(f"{apps.certificateurs}/auth/callback"):  # not into it
        hop = browser.session.get(location, allow_redirects=False, timeout=30)
        location = urljoin(location, hop.headers["Location"])
    account = account_of(session, "chloe.roux", "certificateurs")
    account.expires_at = utcnow() + timedelta(seconds=5)
    session.commit()

    with time_machine.travel(utcnow() + timedelta(seconds=10), tick=True):
        refused = browser.get(location)

    assert refused.url == f"{apps.certificateurs}/connexion"
    assert R5 in text(refused)
    assert "Chloé Roux" not in text(browser.get(f"{apps.certificateurs}/"))


def test_r7_chloe_sees_no_deposit_menus_but_why(apps, browser):
    page = text(browser.sign_in(apps.certificateurs, "chloe.roux"))

    assert "Bienvenue sur Certificateurs, Chloé Roux" in page
    assert NO_RIGHT in page
    assert not any(menu in page for menu in DEPOSIT_MENUS)


def test_single_logout_is_done_when_the_page_says_so(apps, browser):
    """« Se déconnecter » on SOLTÉA, then Certificateurs at once: no sender runs in these
    tests (tests/e2e/servers.py), nobody waits, yet Certificateurs already ended the session:
    the hub posted the logout tokens before answering."""
    browser.sign_in(apps.soltea, "alice.martin")
    browser.sign_in(apps.certificateurs)

    after_logout = browser.log_out(apps.soltea)
    certificateurs = browser.get(f"{apps.certificateurs}/")

    assert after_logout.url.startswith(f"{apps.soltea}/?state=")
    assert "Vous êtes déconnecté." in text(after_logout)
    assert "Me connecter" in text(certificateurs)
    assert "Alice Martin" not in text(certificateurs)
    assert asked_for_password(browser.get(f"{apps.certificateurs}/mes-informations"))


def test_single_logout_from_certificateurs_ends_the_soltea_session(apps, browser):
    browser.sign_in(apps.soltea, "alice.martin")
    browser.sign_in(apps.certificateurs)

    browser.log_out(apps.certificateurs)

    assert "Me connecter" in text(browser.get(f"{apps.soltea}/"))


def test_a_lost_logout_notification_still_ends_the_other_portal_within_a_minute(
    apps, browser, session
):
    """Certificateurs cannot be reached when the person leaves SOLTÉA: the hub refuses its
    next refresh, the session having ended there."""
    browser.sign_in(apps.soltea, "alice.martin")
    browser.sign_in(apps.certificateurs)
    find_client(
        session, "certificateurs-e2e"
    ).backchannel_logout_uri = f"http://127.0.0.1:{closed_port()}/auth/backchannel-logout"
    session.commit()
    browser.log_out(apps.soltea)

    with time_machine.travel(utcnow() + timedelta(seconds=61), tick=True):
        page = browser.get(f"{apps.certificateurs}/")

    assert page.url == f"{apps.certificateurs}/connexion"
    assert "Votre session a pris fin. Veuillez vous reconnecter." in text(page)


def test_r5_an_account_expiring_during_a_session_is_stopped_on_its_next_request(
    apps, browser, session
):
    browser.sign_in(apps.soltea, "alice.martin")
    account = account_of(session, "alice.martin", "soltea")
    account.expires_at = utcnow() + timedelta(seconds=30)
    session.commit()
    assert "Bienvenue sur SOLTÉA" in text(browser.get(f"{apps.soltea}/"))

    with time_machine.travel(utcnow() + timedelta(seconds=90), tick=True):
        page = browser.get(f"{apps.soltea}/mes-informations")

    assert page.url == f"{apps.soltea}/connexion"
    assert R5 in text(page)
    assert "Alice Martin" not in text(browser.get(f"{apps.soltea}/"))


def test_r7_a_right_given_back_mid_session_shows_the_menus_within_a_minute(apps, browser, session):
    from hub.accounts.models import Right
    from hub.accounts.services import set_right
    from hub.actors import System

    browser.sign_in(apps.certificateurs, "chloe.roux")
    account = account_of(session, "chloe.roux", "certificateurs")
    set_right(session, account, Right.DATA_EXCHANGE, True, by=System("e2e"), now=utcnow())
    session.commit()

    with time_machine.travel(utcnow() + timedelta(seconds=61), tick=True):
        page = text(browser.get(f"{apps.certificateurs}/"))

    assert all(menu in page for menu in DEPOSIT_MENUS)
    assert NO_RIGHT not in page


def test_two_browsers_of_one_person_are_two_portal_sessions(apps):
    first, second = Browser(), Browser()
    first.sign_in(apps.soltea, "alice.martin")
    second.sign_in(apps.soltea, "alice.martin")

    first.log_out(apps.soltea)

    assert "Bienvenue sur SOLTÉA" in text(second.get(f"{apps.soltea}/"))


def test_concurrent_requests_after_the_claims_aged_keep_the_sign_in(apps, browser):
    """Several tabs at once: one refreshes, the others wait for it or use what they have;
    the rotating refresh token is never presented twice (that would end the sign-in)."""
    import threading

    browser.sign_in(apps.soltea, "alice.martin")
    tabs = [Browser() for _ in range(4)]
    for tab in tabs:
        tab.session.cookies.update(browser.session.cookies)
    pages: list[str] = []

    with time_machine.travel(utcnow() + timedelta(seconds=61), tick=True):
        threads = [
            threading.Thread(target=lambda t=tab: pages.append(text(t.get(f"{apps.soltea}/"))))
            for tab in tabs
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        after = text(browser.get(f"{apps.soltea}/mes-informations"))

    assert len(pages) == 4
    assert all("Bienvenue sur SOLTÉA, Alice Martin" in page for page in pages)
    assert "Identifiant alice.martin" in after
