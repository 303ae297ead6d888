"""Certificateurs' home (R7, R13): the deposit menus only for an account with `data_exchange`,
otherwise the explanation; visitors get « Connexion »."""

from __future__ import annotations

import pytest

from tests.portals.conftest import account, claims, sign_in

MENUS = ("Déposer un fichier", "Historique des dépôts", "Accusés")
NO_RIGHT = (
    "Votre compte ne dispose pas du droit « Transmettre et consulter les données ». "
    "Contactez votre administrateur."
)


@pytest.fixture
def app(make_app):
    return make_app("certificateurs")


def test_r13_an_account_with_data_exchange_sees_the_deposit_menus(app, client):
    sign_in(app, client, claims(account(rights=("data_exchange",))))

    page = client.get("/").text

    assert all(menu in page for menu in MENUS)
    assert "télécharger les accusés de réception et de traitement" in page.lower()
    assert NO_RIGHT not in page


def test_r7_an_account_without_data_exchange_sees_why_and_no_menu(app, client):
    sign_in(app, client, claims(account(rights=())))

    page = client.get("/").text

    assert NO_RIGHT in page
    assert not any(menu in page for menu in MENUS)


def test_r9_a_delegated_administrator_is_told_why_they_cannot_deposit(app, client):
    """Alice administers Alpha on Certificateurs from SOLTÉA without an account of her own:
    « contact your administrator » would send her to herself."""
    sign_in(app, client, claims(account(role="admin", via="soltea", rights=())))

    page = client.get("/").text

    assert "Vous administrez cette structure depuis SOLTÉA" in page
    assert NO_RIGHT not in page
    assert not any(menu in page for menu in MENUS)


def test_visitor_sees_connexion_with_both_buttons(client):
    page = client.get("/").text

    assert "Me connecter" in page
    assert 'href="/auth/login"' in page
    assert 'href="/auth/create-account"' in page
    assert "Créer un compte" in page
