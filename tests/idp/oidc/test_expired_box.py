"""R5 at the door as the guide shows it (issue 13 §7): the sign-in page of the portal under a
box closed by « Fermer ». Closing the box signs nobody out; the form beneath comes back to the
authorization request that met R5, so that someone else can sign in there and enter the portal.
The box's focus and look are the browser suite's (tests/e2e/test_accessibility.py)."""

from __future__ import annotations

import html
import re

from hub.demo import DEMO_PASSWORD
from hub.oidc.access import ACCOUNT_EXPIRED
from idp.auth.renewal_requests import SENT
from tests.idp.oidc.test_renewal_requests import notify_from
from tests.idp.signing_in import csrf_token_of, next_of

CLOSE_LINK = re.compile(r'<a class="bouton" href="([^"]+)">Fermer</a>')
BOX = '<div class="boite" role="dialog" aria-modal="true" aria-labelledby="boite-titre"'


def close_link(page: str) -> str:
    match = CLOSE_LINK.search(page)
    assert match, "the page has no « Fermer »"
    return html.unescape(match.group(1))


def test_r5_the_box_lies_over_the_sign_in_page_of_that_portal(
    certificateurs_rp, sign_in_as, client
):
    sign_in_as(client, "bruno.petit")

    page, authorization = certificateurs_rp.authorize()

    assert page.status_code == 403
    assert "<title>Compte expiré — Connexion à Certificateurs — Hub d'identité</title>" in page.text
    assert '<h1 id="titre">Connexion à Certificateurs</h1>' in page.text
    assert '<div class="connexion" inert>' in page.text
    assert BOX in page.text
    assert f'<p id="boite-message" class="message">{ACCOUNT_EXPIRED}</p>' in page.text
    assert next_of(page.text) == authorization.url  # the form beneath comes back here


def test_r5_fermer_shows_the_sign_in_page_and_the_person_stays_signed_in(
    certificateurs_rp, sign_in_as, client
):
    sign_in_as(client, "bruno.petit")
    page, authorization = certificateurs_rp.authorize()

    closed = client.get(close_link(page.text))

    assert closed.status_code == 200
    assert BOX not in closed.text
    assert "inert" not in closed.text
    assert '<h1 id="titre">Connexion à Certificateurs</h1>' in closed.text
    assert next_of(closed.text) == authorization.url
    assert "Vous êtes connecté en tant que Bruno Petit" in client.get("/").text


def test_r5_someone_else_signing_in_beneath_the_box_enters_the_portal(
    certificateurs_rp, sign_in_as, client
):
    sign_in_as(client, "bruno.petit")
    page, authorization = certificateurs_rp.authorize()
    fields = {"csrf_token": csrf_token_of(page.text), "next": next_of(page.text)}

    signed_in = client.post(
        "/login", data=fields | {"username": "chloe.roux", "password": DEMO_PASSWORD}
    )

    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == authorization.url
    params = certificateurs_rp.callback(client.get(authorization.url))
    assert params["state"] == authorization.state
    assert "code" in params


def test_r5_after_prevenir_mon_administrateur_the_box_still_lies_over_that_sign_in(
    certificateurs_rp, sign_in_as, client
):
    sign_in_as(client, "bruno.petit")
    page, authorization = certificateurs_rp.authorize()

    answer = client.post(
        "/account-expired/notify",
        data={
            "csrf_token": csrf_token_of(page.text),
            "portal": "certificateurs",
            "next": next_of(page.text),
        },
    )
    without_next = notify_from(page, client)  # a form without `next`: the portal's page still

    assert answer.status_code == 403
    assert SENT in html.unescape(answer.text)
    assert BOX in answer.text
    assert next_of(answer.text) == authorization.url
    assert close_link(answer.text) == close_link(page.text)
    assert '<h1 id="titre">Connexion à Certificateurs</h1>' in without_next.text
    assert close_link(without_next.text) == "/login"


def test_r5_r11_the_box_offers_help_when_the_administrator_has_left(
    certificateurs_rp, sign_in_as, client
):
    """« Besoin d'aide ? » inside the box leads to « Changer d'administrateur » for that portal:
    R5's sentence says to contact an administrator who may have left (issue 14)."""
    sign_in_as(client, "bruno.petit")

    page, _ = certificateurs_rp.authorize()
    box = page.text[page.text.index(BOX) :]
    request_page = client.get("/admin-change?portal=certificateurs")

    assert page.status_code == 403
    assert (
        '<p class="aide-support">Besoin d\'aide ? '
        '<a href="/admin-change?portal=certificateurs">Votre administrateur ne fait plus partie '
        "de la structure : demander un changement d'administrateur</a></p>"
    ) in box
    assert '<option value="certificateurs" selected>Certificateurs</option>' in request_page.text
