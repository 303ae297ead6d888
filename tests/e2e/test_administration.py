"""The guide's journey (issue 5), end to end over real HTTP: the hub and both portals on loopback
(tests/e2e/servers.py), a `requests.Session` per browser, on each hub database.

`bruno.petit` is refused on Certificateurs (R5); `alice.martin` signs in on SOLTÉA, opens
« Administration », chooses « Certificateurs » in the « Portail » filter (R9), sees Bruno's
account « Expiré » and clicks « Renouveler » (R4); Bruno then signs in on Certificateurs. Once
Alice's SOLTÉA account expires, she manages Certificateurs no more (R9: derived, never copied).
Chloé, a user, never reaches « Administration » nor the administration API (R6).
"""

from __future__ import annotations

import re
from datetime import timedelta

import requests
import time_machine
from sqlalchemy import select

from hub.accounts.models import Account
from hub.clock import utcnow
from hub.portals.models import Portal
from hub.users.models import User
from portals.kit.clock import paris_date
from portals.kit.extension import EXTENSION
from portals.kit.sessions import store
from tests.e2e.browser import Browser, forms_of, text

R5 = "Votre compte est expiré. Veuillez contacter votre administrateur."
PASSWORD = "Premier-Jour-Au-Portail-7"
LIST = "/administration/comptes"


def account_of(session, username: str, portal: str) -> Account:
    session.rollback()  # a new transaction: what the hub committed since, not an old snapshot
    return session.scalar(
        select(Account)
        .join(Account.user)
        .join(Account.portal)
        .where(User.username == username, Portal.code == portal)
    )


def row_of(page: requests.Response, username: str) -> str:
    """The HTML of the table row showing `username`."""
    rows = [row.split("</tr>")[0] for row in page.text.split("<tr")[1:]]
    found = [row for row in rows if f"<td>{username}</td>" in row]
    assert len(found) == 1, f"{username} is not listed once on {page.url}"
    return found[0]


def row_text(page: requests.Response, username: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", row_of(page, username)).split())


def renew_button(page: requests.Response, username: str) -> dict[str, str]:
    """What « Renouveler » on that row sends: the button's name and value."""
    name, value = re.search(
        r'<button type="submit" name="(\w+)" value="(\d+)"', row_of(page, username)
    ).groups()
    return {name: value}


def link_in_row(page: requests.Response, username: str, label: str) -> str:
    href = re.search(rf'<a href="([^"]+)">{label}<', row_of(page, username)).group(1)
    return requests.compat.urljoin(page.url, href.replace("&amp;", "&"))


def certificateurs_list_from_soltea(apps, browser: Browser) -> requests.Response:
    """« Administration » → « Gérer les comptes existants » → « Portail » : « Certificateurs »."""
    home = browser.get(f"{apps.soltea}/")
    assert '<a href="/administration">Administration</a>' in home.text
    administration = browser.get(f"{apps.soltea}/administration")
    assert "Gérer les comptes existants" in text(administration)
    listing = browser.get(f"{apps.soltea}{LIST}")
    assert "Comptes de Organisme Alpha Formation (100001) sur SOLTÉA" in text(listing)
    return browser.submit(listing, {"portail": "certificateurs"}, action=LIST)


def test_r4_r9_the_guides_journey_alice_renews_bruno_from_soltea(apps, browser, session):
    bruno = Browser()
    assert R5 in text(bruno.sign_in(apps.certificateurs, "bruno.petit"))
    browser.sign_in(apps.soltea, "alice.martin")

    listing = certificateurs_list_from_soltea(apps, browser)

    assert "Comptes de Organisme Alpha Formation (100001) sur Certificateurs" in text(listing)
    assert "Petit Bruno bruno.petit Utilisateur Oui" in row_text(listing, "bruno.petit")
    assert "Expiré" in row_text(listing, "bruno.petit")
    assert "Administrateur (via SOLTÉA)" in row_text(listing, "alice.martin")  # R9
    assert "Renouveler" not in row_text(listing, "alice.martin")
    renewed = browser.submit(listing, renew_button(listing, "bruno.petit"), action="/renouveler")

    new_expiry = account_of(session, "bruno.petit", "certificateurs").expires_at
    assert new_expiry > utcnow() + timedelta(days=500)
    assert f"Compte renouvelé jusqu'au {paris_date(new_expiry)}." in text(renewed)
    assert "Valide" in row_text(renewed, "bruno.petit")  # back on the same filtered list
    assert "Bienvenue sur Certificateurs, Bruno Petit" in text(bruno.sign_in(apps.certificateurs))


def test_r4_a_double_submitted_renewal_counts_once_two_renders_twice(apps, browser, session):
    browser.sign_in(apps.soltea, "alice.martin")
    listing = certificateurs_list_from_soltea(apps, browser)
    button = renew_button(listing, "bruno.petit")

    browser.submit(listing, button, action="/renouveler")
    once = account_of(session, "bruno.petit", "certificateurs").expires_at
    again = browser.submit(listing, button, action="/renouveler")  # the same form, resubmitted

    assert account_of(session, "bruno.petit", "certificateurs").expires_at == once
    assert f"Compte renouvelé jusqu'au {paris_date(once)}." in text(again)
    browser.submit(again, renew_button(again, "bruno.petit"), action="/renouveler")  # new render
    twice = account_of(session, "bruno.petit", "certificateurs").expires_at
    assert twice - once > timedelta(days=540)  # R4: renewals stack, 18 more months


def test_r4_renouveler_la_selection_renews_every_ticked_account(apps, browser, session):
    browser.sign_in(apps.soltea, "alice.martin")
    listing = certificateurs_list_from_soltea(apps, browser)
    ids = [
        str(account_of(session, name, "certificateurs").id)
        for name in ("bruno.petit", "chloe.roux")
    ]

    page = browser.submit(listing, {"ids": ids}, action="/renouveler")  # both boxes ticked

    assert "2 comptes renouvelés." in text(page)
    for name in ("bruno.petit", "chloe.roux"):
        expiry = account_of(session, name, "certificateurs").expires_at
        assert f"{paris_date(expiry)}." in text(page)


def test_r9_lapse_once_alices_soltea_account_expires_she_manages_certificateurs_no_more(
    apps, browser, session
):
    browser.sign_in(apps.soltea, "alice.martin")
    listing = certificateurs_list_from_soltea(apps, browser)
    bruno_expiry = account_of(session, "bruno.petit", "certificateurs").expires_at
    alice = account_of(session, "alice.martin", "soltea")
    alice.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()

    refused = browser.submit(listing, renew_button(listing, "bruno.petit"), action="/renouveler")

    assert refused.status_code in (403, 404)  # the hub decides at once, claims or not
    assert "Compte renouvelé" not in text(refused)
    assert account_of(session, "bruno.petit", "certificateurs").expires_at == bruno_expiry
    with time_machine.travel(utcnow() + timedelta(seconds=61), tick=True):
        page = browser.get(f"{apps.soltea}{LIST}?portail=certificateurs")
    assert page.url == f"{apps.soltea}/connexion"
    assert R5 in text(page)
    on_certificateurs = browser.sign_in(apps.certificateurs)
    assert "Bienvenue" not in text(on_certificateurs)
    assert browser.get(f"{apps.certificateurs}{LIST}").url.endswith("/connexion")


def access_token_of(apps, browser: Browser, code: str) -> str:
    """The access token the portal holds for this browser's sign-in, as it calls the API."""
    app = apps.portal_apps[code]
    kit = app.extensions[EXTENSION]
    cookie = browser.session.cookies.get(kit.config.cookie_name)
    key = app.session_interface.signer.unsign(cookie).decode()
    stored = store.load(kit.engine, store.key_hash(key), now=utcnow())
    return stored.sign_in.access_token


def test_r6_chloe_never_sees_administration_and_the_api_refuses_her(apps, browser):
    home = browser.sign_in(apps.certificateurs, "chloe.roux")
    assert "Bienvenue sur Certificateurs, Chloé Roux" in text(home)
    assert "Administration" not in text(home)

    refused = browser.get(f"{apps.certificateurs}{LIST}")

    assert refused.status_code == 403
    assert "Cette page est réservée aux administrateurs" in text(refused)
    bearer = {"Authorization": f"Bearer {access_token_of(apps, browser, 'certificateurs')}"}
    scope = requests.get(f"{apps.hub}/api/v1/admin/scope", headers=bearer, timeout=10)
    assert scope.status_code == 403
    accounts = f"{apps.hub}/api/v1/admin/structures/100001/portals/certificateurs/accounts"
    assert requests.get(accounts, headers=bearer, timeout=10).status_code in (403, 404)


def invitation_link(session, address: str) -> str:
    """The link of the latest invitation mailed to `address`."""
    from hub.mail.models import OutboxMessage

    session.rollback()
    mail = session.scalar(
        select(OutboxMessage)
        .filter_by(recipient=address, template="account_invitation")
        .order_by(OutboxMessage.id.desc())
    )
    assert mail is not None, f"no invitation mailed to {address}"
    return re.search(r"http://\S+/invitation/\S+", mail.text_body).group(0)


def invitations_of(page: requests.Response) -> str:
    """What a person reads of the invitations waiting, above the accounts."""
    return text(page).split("Invitations en attente")[1].split("Comptes de")[0]


def test_r2_creer_un_compte_invites_a_new_person_whose_account_opens_when_they_accept(
    apps, browser, session
):
    browser.sign_in(apps.soltea, "alice.martin")
    form = browser.get(f"{apps.soltea}/administration/comptes/nouveau")
    assert "Créer un compte" in text(form)

    created = browser.submit(
        form,
        {
            "civility": "M.",
            "last_name": "Durand",
            "first_name": "Denis",
            "email": "denis.durand@alpha.example",
            "service": "Formation",
        },
        action="/nouveau",
    )

    assert created.url.startswith(f"{apps.soltea}{LIST}?portail=soltea")
    assert (
        "Invitation envoyée à Denis Durand (denis.durand@alpha.example) pour un compte sur SOLTÉA"
    ) in text(created)
    waiting = invitations_of(created)
    assert "Denis Durand (denis.durand@alpha.example) Utilisateur Oui" in waiting
    assert "Invitation envoyée" in waiting
    assert _username(session, "denis.durand@alpha.example") is None  # nobody until he accepts

    denis = Browser()
    choose = denis.get(invitation_link(session, "denis.durand@alpha.example"))
    welcome = denis.submit(choose, {"password": PASSWORD, "password_confirmation": PASSWORD})
    assert "Votre compte sur SOLTÉA pour Organisme Alpha Formation est ouvert" in text(welcome)
    assert "Bienvenue sur SOLTÉA, Denis Durand" in text(denis.sign_in(apps.soltea))  # SSO

    listing = browser.get(f"{apps.soltea}{LIST}?portail=soltea")
    assert "Invitations en attente" not in text(listing)
    assert "Utilisateur Oui" in row_text(listing, "denis.durand")


def test_r2_renvoyer_l_invitation_sends_a_new_link(apps, browser, session):
    browser.sign_in(apps.soltea, "alice.martin")
    form = browser.get(f"{apps.soltea}/administration/comptes/nouveau")
    person = {"last_name": "Roy", "first_name": "Inès", "email": "ines.roy@alpha.example"}
    created = browser.submit(form, person, action="/nouveau")
    first_link = invitation_link(session, "ines.roy@alpha.example")

    button = re.search(r'formaction="([^"]+/renvoyer)"', created.text)
    (form,) = [f for f in forms_of(created.text) if f.action is None or "invitations" in f.action]
    target = requests.compat.urljoin(created.url, button.group(1))
    again = browser.session.post(target, data=form.fields, timeout=30)  # the button's formaction

    assert "Invitation renvoyée à Inès Roy (ines.roy@alpha.example) (valable jusqu'au" in text(
        again
    )
    assert Browser().get(first_link).status_code == 404  # replaced by the new one
    assert Browser().get(invitation_link(session, "ines.roy@alpha.example")).status_code == 200


def _username(session, email: str) -> str | None:
    session.rollback()
    return session.scalar(select(User.username).where(User.email == email))


def test_r2_creer_un_compte_for_a_known_person_and_the_refusals(apps, browser, session):
    browser.sign_in(apps.soltea, "alice.martin")
    form = browser.get(f"{apps.soltea}/administration/comptes/nouveau?portail=certificateurs")

    wrong = browser.submit(
        form,
        {"last_name": "Durand", "first_name": "Denis", "email": "pas-une-adresse"},
        action="/nouveau",
    )
    assert wrong.status_code == 400
    assert 'aria-invalid="true" aria-describedby="erreur-email"' in wrong.text
    attached = browser.submit(
        form, {"existing": "bruno.petit", "portail": "soltea"}, action="/nouveau"
    )
    assert attached.status_code == 409  # Bruno already has his SOLTÉA account
    assert "Bruno" not in text(attached).split("Créer un compte")[0]

    invited = browser.submit(
        form, {"existing": "chloe.roux", "portail": "soltea"}, action="/nouveau"
    )

    assert "Invitation envoyée à chloe.roux pour un compte sur SOLTÉA" in text(invited)
    assert "Roux" not in invitations_of(invited)  # only what Alice typed
    chloe = Browser()
    sign_in_page = chloe.get(invitation_link(session, "chloe.roux@alpha.example"))
    accept = chloe.sign_in_at_hub(sign_in_page, "chloe.roux")
    assert "Accepter l'invitation" in text(accept)
    accepted = chloe.submit(accept, action="")
    assert "Votre compte sur SOLTÉA pour Organisme Alpha Formation est ouvert" in text(accepted)
    assert account_of(session, "chloe.roux", "soltea") is not None


def test_r2_promote_demote_and_the_last_administrator(apps, browser, session):
    browser.sign_in(apps.soltea, "alice.martin")
    listing = browser.get(f"{apps.soltea}{LIST}?portail=soltea")
    own = browser.get(link_in_row(listing, "alice.martin", "Modifier"))

    refused = browser.submit(own, {"role": "user"}, action="/modifier")

    assert refused.status_code == 409
    assert "Cette structure doit conserver au moins un administrateur" in text(refused)
    assert account_of(session, "alice.martin", "soltea").role.value == "admin"
    promoted = browser.submit(
        browser.get(link_in_row(listing, "bruno.petit", "Modifier")),
        {"role": "admin"},
        action="/modifier",
    )
    assert "Le compte de Bruno Petit a été modifié : administrateur." in text(promoted)
    assert "Administrateur" in row_text(promoted, "bruno.petit")
    demoted = browser.submit(
        browser.get(link_in_row(promoted, "bruno.petit", "Modifier")),
        {"role": "user", "data_exchange": ""},
        action="/modifier",
    )
    assert "Utilisateur Non" in row_text(demoted, "bruno.petit")  # R7: right withdrawn
    bruno = account_of(session, "bruno.petit", "soltea")
    assert bruno.role.value == "user"
    assert not bruno.rights


def test_r2_supprimer_after_confirmation_and_the_history(apps, browser):
    browser.sign_in(apps.soltea, "alice.martin")
    listing = certificateurs_list_from_soltea(apps, browser)
    browser.submit(listing, renew_button(listing, "bruno.petit"), action="/renouveler")
    confirmation = browser.get(link_in_row(listing, "chloe.roux", "Supprimer"))
    assert "Confirmer la suppression" in text(confirmation)

    deleted = browser.submit(confirmation, action="/supprimer")

    assert "Le compte de Chloé Roux a été supprimé." in text(deleted)
    assert "chloe.roux" not in text(deleted)
    history = text(browser.get(f"{apps.soltea}/administration/historique?portail=certificateurs"))
    assert "Suppression du compte" in history
    assert "Renouvellement" in history
    assert "Alice Martin" in history
    assert "depuis SOLTÉA" in history
    assert re.search(r"\d\d/\d\d/\d{4} à \d\d:\d\d", history)
    chloe = text(Browser().sign_in(apps.certificateurs, "chloe.roux"))
    assert "Vous n'avez pas de compte" in chloe
    assert "Bienvenue" not in chloe


def test_exporter_csv_lists_the_filtered_accounts_for_a_spreadsheet(apps, browser, session):
    browser.sign_in(apps.soltea, "alice.martin")
    listing = certificateurs_list_from_soltea(apps, browser)
    export = (
        re.search(r'href="([^"]+export\.csv[^"]*)"', listing.text).group(1).replace("&amp;", "&")
    )

    response = browser.get(requests.compat.urljoin(listing.url, export))

    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeffNom;Prénom;Identifiant;")
    lines = body.splitlines()
    bruno_expiry = paris_date(account_of(session, "bruno.petit", "certificateurs").expires_at)
    assert "Petit;Bruno;bruno.petit;bruno.petit@alpha.example;;Utilisateur;Oui;" in body
    assert any(
        line.startswith("Petit;Bruno;") and line.endswith(f";{bruno_expiry};Expiré")
        for line in lines
    )
    assert any(line.startswith("Roux;Chloé;chloe.roux;") and ";Non;" in line for line in lines)
    assert any("Administrateur (via SOLTÉA)" in line for line in lines)
