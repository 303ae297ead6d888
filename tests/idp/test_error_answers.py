"""A domain error a view lets through is answered in one place (`idp.web.errors.answer_refusal`), as
its caller reads answers: the API's JSON, OAuth's error object, or a page in French — the same
answer, status and words as the view would have given itself (issue 13 §4)."""

from __future__ import annotations

import pytest

from hub.errors import (
    ConcurrentChange,
    EmailTaken,
    HubError,
    LastAdministrator,
    NotAllowed,
    RegistrationExpired,
)
from hub.transactions import ATTEMPTS
from idp.oidc.server import server
from idp.web.errors import refusals_titled
from idp.web.pages import render_message
from tests.idp.oidc.conftest import Portal as RelyingParty


def raising(error: HubError):
    def view():
        raise error

    return view


@pytest.fixture
def refusing(app):
    """`refusing(path, error)`: a view at `path` that lets `error` through."""

    def add(path: str, error: HubError, *, title: str | None = None):
        view = raising(error)
        if title is not None:
            view = refusals_titled(title)(view)
        app.add_url_rule(path, path.strip("/").replace("/", "_"), view, methods=["GET", "POST"])

    return add


def test_an_api_view_raising_answers_the_api_json_with_the_errors_status(refusing, client):
    refusing("/api/v1/test/refusal", EmailTaken())

    response = client.get("/api/v1/test/refusal")

    assert response.status_code == 409
    assert response.get_json() == {
        "error": "email_taken",
        "message": EmailTaken().message,
        "field": "email",
    }


def test_r11_a_service_refusal_in_the_api_is_the_same_json_wherever_it_is_raised(
    refusing, client, demo, sign_in_as, app
):
    """The last administrator's refusal (R11) from `/api/v1/me`, whose view no longer maps it,
    is exactly what any API view raising it answers."""
    refusing("/api/v1/test/last-admin", LastAdministrator())
    browser = app.test_client()
    sign_in_as(browser, "alice.martin")
    tokens = RelyingParty("soltea", browser, app.test_client(), scope="openid accounts").sign_in()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}

    from_service = client.delete("/api/v1/me/accounts/soltea/100001", headers=headers)
    from_any_view = client.get("/api/v1/test/last-admin")

    assert from_service.status_code == from_any_view.status_code == 409
    assert from_service.get_json() == from_any_view.get_json()
    assert from_service.get_json() == {
        "error": "last_administrator",
        "message": LastAdministrator.message,
    }


def test_a_page_view_raising_answers_the_error_page_in_french(refusing, client):
    refusing("/test/refusal", RegistrationExpired())

    response = client.get("/test/refusal")

    assert response.status_code == 410
    assert response.mimetype == "text/html"
    assert RegistrationExpired.message.replace("'", "&#39;") in response.text
    assert "Code d'erreur : 410" in response.text


def test_a_page_view_declaring_its_title_answers_its_own_message_page(refusing, client, app):
    refusing("/test/titled", RegistrationExpired(), title="Confirmer mon inscription")

    response = client.post("/test/titled")

    with app.test_request_context():
        page, status = render_message(
            "Confirmer mon inscription", RegistrationExpired.message, status=410
        )
    assert response.status_code == status == 410
    assert response.text == page


def test_a_page_refusal_is_json_for_a_client_asking_for_json(refusing, client):
    refusing("/test/refusal", RegistrationExpired())

    response = client.get("/test/refusal", headers={"Accept": "application/json"})

    assert response.status_code == 410
    assert response.get_json() == {
        "error": "registration_expired",
        "error_description": RegistrationExpired.message,
        "message": RegistrationExpired.message,
    }


def test_an_oauth_endpoint_raising_answers_oauths_error_object(client, monkeypatch):
    def refuse():
        raise NotAllowed()

    monkeypatch.setattr(server, "create_token_response", refuse)

    response = client.post("/token", data={"grant_type": "authorization_code"})

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "invalid_request",
        "error_description": "The request was refused (forbidden).",
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_a_token_request_losing_every_race_is_tried_again_then_told_to_try_later(
    client, monkeypatch
):
    """Issue 13 §5: the one retry policy runs the request again; once it gives up, the portal's
    back end reads `temporarily_unavailable`, not a 500."""
    attempts = []

    def losing():
        attempts.append(True)
        raise ConcurrentChange()

    monkeypatch.setattr(server, "create_token_response", losing)

    response = client.post("/token", data={"grant_type": "authorization_code"})

    assert len(attempts) == ATTEMPTS
    assert response.status_code == 503
    assert response.get_json()["error"] == "temporarily_unavailable"
    assert response.headers["Cache-Control"] == "no-store"
