"""Every form of the portals carries the session's CSRF token; a POST without it changes
nothing and gets a French page (400)."""

from __future__ import annotations

import logging

import pytest

from tests.portals.conftest import account, claims, page_text, session_exists, sign_in


def csrf_of(page: str) -> str:
    return page.split('name="csrf_token" value="')[1].split('"')[0]


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_logout_without_the_sessions_token_is_refused_and_changes_nothing(
    app, client, token, caplog
):
    key = sign_in(app, client, claims(account()))
    client.get("/")  # the page that holds the form
    data = {} if token is None else {"csrf_token": token}

    with caplog.at_level(logging.WARNING, logger="portals.security"):
        response = client.post("/auth/logout", data=data)

    assert response.status_code == 400
    assert "Le formulaire a expiré ou ne provient pas de ce site." in page_text(response)
    assert session_exists(app, key)
    assert "CSRF token missing or wrong on POST /auth/logout" in caplog.text


def test_another_sessions_token_is_refused(app, client):
    other = app.test_client()
    sign_in(app, other, claims(account(), sub="sub-bruno"), sid="sid-b")
    foreign = csrf_of(other.get("/").text)
    key = sign_in(app, client, claims(account()))

    response = client.post("/auth/logout", data={"csrf_token": foreign})

    assert response.status_code == 400
    assert session_exists(app, key)


def test_logout_with_the_token_ends_the_portal_session_and_goes_to_the_hub(app, client, oidc_party):
    key = sign_in(app, client, claims(account()))
    token = csrf_of(client.get("/").text)

    response = client.post("/auth/logout", data={"csrf_token": token})

    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{oidc_party.issuer}/logout?")
    assert "id_token_hint=id-token" in location
    assert "post_logout_redirect_uri=http%3A%2F%2F127.0.0.1%3A5001%2F" in location
    assert "state=" in location
    assert not session_exists(app, key)


def test_every_form_of_the_signed_in_layout_carries_the_token(app, client):
    sign_in(app, client, claims(account()))

    page = client.get("/").text

    assert page.count("<form") == page.count('name="csrf_token"') >= 1
