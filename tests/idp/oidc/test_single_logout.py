"""Single logout through the real protocol: a person signed in to SOLTÉA and Certificateurs by
the code flow logs out from SOLTÉA with the ID token it holds; SOLTÉA gets its redirect with its
state once both portals got a logout token for that session, and every token issued under it
stops working (RP-Initiated Logout 1.0, Back-Channel Logout 1.0)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from joserfc import jwt

from hub.oidc.clients import find_client
from tests.fixtures.portal_receiver import receiver as receiver  # the fixture, used by name

SOLTEA_HOME = "http://127.0.0.1:5001/"


@pytest.fixture
def signed_in_everywhere(soltea_rp, certificateurs_rp, sign_in_as, client, session, receiver):
    """Alice signed in at the hub, then at both portals by the code flow; the portals listen
    for back-channel logouts on `receiver`. Returns the tokens each portal received."""
    for client_id in ("soltea", "certificateurs"):
        find_client(session, client_id).backchannel_logout_uri = receiver.uri
    session.commit()
    sign_in_as(client, "alice.martin")
    return soltea_rp.sign_in(), certificateurs_rp.sign_in()


def test_logout_from_one_portal_logs_out_of_all(signed_in_everywhere, soltea_rp, client, receiver):
    soltea_tokens, _certificateurs_tokens = signed_in_everywhere
    hint = soltea_tokens["id_token"]

    response = client.get(
        "/logout?"
        + urlencode(
            {"id_token_hint": hint, "post_logout_redirect_uri": SOLTEA_HOME, "state": "bye-1"}
        )
    )

    assert response.headers["Location"] == SOLTEA_HOME + "?state=bye-1"
    received = {
        claims["aud"]: claims
        for claims in (
            jwt.decode(r.logout_token, soltea_rp.jwks(), algorithms=["RS256", "ES256"]).claims
            for r in receiver.requests
        )
    }
    assert set(received) == {"soltea", "certificateurs"}
    for claims in received.values():
        assert claims["sid"] == soltea_tokens["claims"]["sid"]
        assert claims["sub"] == soltea_tokens["claims"]["sub"]


def test_after_logout_the_session_and_its_tokens_are_gone(
    signed_in_everywhere, soltea_rp, certificateurs_rp, client
):
    soltea_tokens, certificateurs_tokens = signed_in_everywhere

    client.get("/logout?" + urlencode({"id_token_hint": soltea_tokens["id_token"]}))

    assert soltea_rp.userinfo(soltea_tokens["access_token"]).status_code == 401
    assert soltea_rp.refresh(soltea_tokens["refresh_token"]).status_code == 400
    introspection = certificateurs_rp.introspect(certificateurs_tokens["access_token"])
    assert introspection.get_json() == {"active": False}
    silent, _ = soltea_rp.authorize(prompt="none")
    assert soltea_rp.callback(silent)["error"] == "login_required"


def test_an_id_token_from_certificateurs_logs_out_with_its_own_redirect_only(
    signed_in_everywhere, client
):
    _soltea_tokens, certificateurs_tokens = signed_in_everywhere

    response = client.get(
        "/logout?"
        + urlencode(
            {
                "id_token_hint": certificateurs_tokens["id_token"],
                "post_logout_redirect_uri": SOLTEA_HOME,  # SOLTÉA's, not Certificateurs'
            }
        )
    )

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert "Vous êtes déconnecté." in response.get_data(as_text=True)
