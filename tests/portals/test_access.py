"""`login_required`, `admin_required`, `right_required("data_exchange")`: decided from the hub's
`accounts` claim only; an expired account grants nothing (R3, R5, R6, R7)."""

from __future__ import annotations

import pytest
from flask import Blueprint

from portals.kit import admin_required, create_portal_app, login_required, right_required
from portals.soltea import IDENTITY
from portals.soltea import views as soltea_views
from tests.portals.conftest import account, claims, portal_config, sign_in

guarded = Blueprint("guarded", __name__)


@guarded.get("/tableau")
@login_required
def board() -> str:
    return "tableau"


@guarded.get("/gestion")
@admin_required
def management() -> str:
    return "gestion des comptes"


@guarded.get("/depots")
@right_required("data_exchange")
def deposits() -> str:
    return "dépôts"


@pytest.fixture
def app(tmp_path, oidc_party):
    config = portal_config(IDENTITY, tmp_path, oidc_party.issuer)
    return create_portal_app(
        IDENTITY,
        import_name="portals.soltea",
        config=config,
        blueprints=[soltea_views.bp, guarded],
        TESTING=True,
    )


def test_anonymous_visitor_is_sent_to_sign_in_and_back(client):
    response = client.get("/tableau?vue=1")

    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/tableau?vue%3D1"


def test_signed_in_person_passes_login_required(app, client):
    sign_in(app, client, claims(account()))

    assert client.get("/tableau").text == "tableau"


def test_r6_a_user_is_refused_administration(app, client):
    sign_in(app, client, claims(account(role="user")))

    response = client.get("/gestion")

    assert response.status_code == 403
    assert "réservée aux administrateurs" in response.text


def test_an_admin_passes_admin_required(app, client):
    sign_in(app, client, claims(account(role="user", matricule="1"), account(role="admin")))

    assert client.get("/gestion").text == "gestion des comptes"


def test_r9_a_delegated_admin_passes_admin_required(app, client):
    sign_in(app, client, claims(account(role="admin", via="soltea", rights=())))

    assert client.get("/gestion").status_code == 200


def test_r5_an_expired_admin_account_grants_nothing(app, client):
    sign_in(
        app,
        client,
        claims(account(role="admin", expired=True), account(role="user", matricule="2")),
    )

    assert client.get("/gestion").status_code == 403


def test_r7_without_data_exchange_the_data_pages_are_refused(app, client):
    sign_in(app, client, claims(account(rights=())))

    response = client.get("/depots")

    assert response.status_code == 403
    assert (
        "Votre compte ne dispose pas du droit « Transmettre et consulter les données ». "
        "Contactez votre administrateur." in response.text
    )


def test_r7_with_data_exchange_the_data_pages_open(app, client):
    sign_in(app, client, claims(account(rights=("data_exchange",))))

    assert client.get("/depots").text == "dépôts"


def test_r7_data_exchange_on_an_expired_account_only_is_refused(app, client):
    sign_in(app, client, claims(account(expired=True), account(rights=(), matricule="2")))

    assert client.get("/depots").status_code == 403


def test_r6_r15_the_administration_menu_is_for_admins_only(app, client):
    sign_in(app, client, claims(account(role="user"), sub="sub-chloe"), sid="sid-c")
    user_page = client.get("/").text
    other = app.test_client()
    sign_in(app, other, claims(account(role="admin")))

    page = other.get("/").text

    for entry in ("Mes informations", "Mes portails", "Se déconnecter"):
        assert entry in page
        assert entry in user_page
    assert "Administration" in page
    assert "Administration" not in user_page
