"""A hub that does not answer never turns into a 500: « Service d'authentification
indisponible » with a link to try again, and the portal session is kept for when it is back."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.portals.conftest import account, claims, page_text, session_exists, sign_in

TITLE = "Service d'authentification indisponible"


@pytest.fixture
def app(make_app, closed_port_issuer):
    return make_app("soltea", issuer=closed_port_issuer)


def test_me_connecter_with_the_hub_down_shows_the_unavailable_page(client):
    response = client.get("/auth/login?next=/mes-portails")

    assert response.status_code == 503
    assert TITLE in page_text(response)
    assert 'href="/auth/login?next=/mes-portails">Réessayer</a>' in page_text(response)


def test_creer_un_compte_with_the_hub_down_shows_the_unavailable_page(client):
    response = client.get("/auth/create-account")

    assert response.status_code == 503
    assert TITLE in page_text(response)


def test_stale_claims_with_the_hub_down_keep_the_session_and_say_so(app, client):
    key = sign_in(app, client, claims(account()), claims_age=timedelta(minutes=5))

    response = client.get("/mes-informations")

    assert response.status_code == 503
    assert TITLE in page_text(response)
    assert 'href="/mes-informations">Réessayer</a>' in page_text(response)
    assert session_exists(app, key)


def test_hub_api_down_on_a_fresh_session_shows_the_unavailable_page(app, client):
    sign_in(app, client, claims(account()))

    response = client.get("/mes-portails")

    assert response.status_code == 503
    assert TITLE in page_text(response)


def test_logout_with_the_hub_down_keeps_the_person_signed_in_to_try_again(app, client):
    key = sign_in(app, client, claims(account()))
    page = client.get("/").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]

    response = client.post("/auth/logout", data={"csrf_token": token})

    assert response.status_code == 503
    assert TITLE in page_text(response)
    assert session_exists(app, key)


def test_the_portals_pages_that_need_no_hub_still_answer(client):
    assert client.get("/").status_code == 200
    assert client.get("/connexion").status_code == 200
    assert client.get("/healthz").status_code == 200
