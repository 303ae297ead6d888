"""Discovery (OpenID Connect Discovery 1.0, RFC 8414) tells the truth, and the JWKS keeps old
keys published through a rotation so that tokens signed before it still verify."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from authlib.oauth2 import rfc9207
from authlib.oidc import discovery
from joserfc import jwt
from joserfc.jwk import KeySet

from hub.actors import System
from hub.clock import utcnow
from hub.oidc import keys
from idp.oidc.signing import key_ring
from tests.idp.oidc.conftest import ISSUER


@pytest.fixture
def metadata(backend, demo):
    response = backend.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    return response.get_json()


def test_metadata_is_valid_openid_provider_metadata(metadata):
    document = discovery.OpenIDProviderMetadata(metadata)

    document.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata])

    assert metadata["issuer"] == ISSUER


def test_metadata_describes_what_the_hub_does(metadata):
    assert metadata["authorization_endpoint"] == f"{ISSUER}/authorize"
    assert metadata["token_endpoint"] == f"{ISSUER}/token"
    assert metadata["userinfo_endpoint"] == f"{ISSUER}/userinfo"
    assert metadata["jwks_uri"] == f"{ISSUER}/jwks.json"
    assert metadata["revocation_endpoint"] == f"{ISSUER}/oauth/revoke"
    assert metadata["introspection_endpoint"] == f"{ISSUER}/oauth/introspect"
    assert metadata["end_session_endpoint"] == f"{ISSUER}/logout"
    assert metadata["response_types_supported"] == ["code"]
    assert metadata["response_modes_supported"] == ["query"]
    assert metadata["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    methods = ["client_secret_basic", "client_secret_post"]
    assert metadata["token_endpoint_auth_methods_supported"] == methods
    assert metadata["revocation_endpoint_auth_methods_supported"] == methods
    assert metadata["introspection_endpoint_auth_methods_supported"] == methods
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256", "ES256"]
    assert metadata["subject_types_supported"] == ["public"]
    assert metadata["scopes_supported"] == ["openid", "profile", "email", "accounts", "admin"]
    assert metadata["prompt_values_supported"] == ["none", "login", "consent", "create"]
    assert metadata["ui_locales_supported"] == ["fr"]
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["claims_parameter_supported"] is False
    assert metadata["request_parameter_supported"] is False
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
    assert metadata["frontchannel_logout_supported"] is False
    assert {"sub", "sid", "auth_time", "preferred_username", "accounts"} <= set(
        metadata["claims_supported"]
    )


@pytest.mark.parametrize(
    "endpoint",
    [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
    ],
)
def test_every_advertised_endpoint_exists(app, metadata, endpoint):
    path = urlsplit(metadata[endpoint]).path
    adapter = app.url_map.bind("127.0.0.1:5000")

    assert adapter.test(
        path, method="POST" if endpoint.startswith(("token", "rev", "intr")) else "GET"
    )


def test_rfc8414_location_serves_the_same_metadata(backend, metadata):
    assert backend.get("/.well-known/oauth-authorization-server").get_json() == metadata


def test_metadata_and_keys_are_publicly_cacheable_for_a_short_while(backend, demo):
    for path in ("/.well-known/openid-configuration", "/jwks.json"):
        cache_control = backend.get(path).headers["Cache-Control"]
        assert cache_control.startswith("public, max-age=")
        assert int(cache_control.rsplit("=", 1)[1]) <= 300


def test_the_jwks_publishes_public_keys_only(backend, demo):
    published = backend.get("/jwks.json").get_json()["keys"]

    assert sorted(key["alg"] for key in published) == ["ES256", "RS256"]
    for key in published:
        assert key["use"] == "sig"
        assert key["kid"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_tokens_signed_before_a_rotation_still_verify(soltea_rp, sign_in_as, client, session):
    sign_in_as(client, "alice.martin")
    before = soltea_rp.sign_in()

    keys.rotate(session, by=System("test"), now=utcnow(), grace=timedelta(hours=24))
    session.commit()
    key_ring.reload()
    after = soltea_rp.sign_in()

    published = KeySet.import_key_set(soltea_rp.backend.get("/jwks.json").get_json())
    old = jwt.decode(before["id_token"], published, algorithms=["RS256"])
    new = jwt.decode(after["id_token"], published, algorithms=["RS256"])
    assert old.header["kid"] != new.header["kid"]
    assert old.claims["sub"] == new.claims["sub"]


def test_a_retired_key_leaves_the_jwks_after_its_grace_period(backend, demo, session, time_machine):
    old_kids = {key["kid"] for key in backend.get("/jwks.json").get_json()["keys"]}
    keys.rotate(session, by=System("test"), now=utcnow(), grace=timedelta(hours=1))
    session.commit()
    key_ring.reload()
    during = {key["kid"] for key in backend.get("/jwks.json").get_json()["keys"]}

    time_machine.move_to(utcnow() + timedelta(hours=1, seconds=1), tick=False)
    key_ring.reload()
    after = {key["kid"] for key in backend.get("/jwks.json").get_json()["keys"]}

    assert old_kids < during
    assert not old_kids & after
