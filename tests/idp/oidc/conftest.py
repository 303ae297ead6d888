"""A relying party as the portals are one, speaking plain HTTP to the hub through Flask's test
client: it builds authorization URLs with PKCE, state and nonce, follows the browser to its
redirect URI, exchanges the code with HTTP Basic, and validates ID tokens against the JWKS the
hub publishes (joserfc), the way any OpenID Connect library would."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

ISSUER = "http://127.0.0.1:5000"
PORTALS = {
    "soltea": ("soltea-dev-secret", "http://127.0.0.1:5001/auth/callback"),
    "certificateurs": ("certificateurs-dev-secret", "http://127.0.0.1:5002/auth/callback"),
}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


@dataclass
class Authorization:
    """One authorization request and the secrets the portal keeps for it."""

    params: dict[str, str]
    verifier: str

    @property
    def url(self) -> str:
        return "/authorize?" + urlencode(self.params)

    @property
    def state(self) -> str:
        return self.params["state"]

    @property
    def nonce(self) -> str:
        return self.params["nonce"]


@dataclass
class Portal:
    """A portal's OIDC client. `browser` carries the person's hub cookie; `backend` is the
    portal's own server calling the token, UserInfo, revocation and introspection endpoints."""

    client_id: str
    browser: Any
    backend: Any
    secret: str = ""
    redirect_uri: str = ""
    scope: str = "openid profile email accounts"
    issued: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.secret, self.redirect_uri = PORTALS[self.client_id]

    @property
    def auth(self) -> dict[str, str]:
        return basic(self.client_id, self.secret)

    def authorization(self, **overrides: str | None) -> Authorization:
        verifier = b64url(secrets.token_bytes(32))
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": b64url(secrets.token_bytes(12)),
            "nonce": b64url(secrets.token_bytes(12)),
            "code_challenge": b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        params.update(overrides)  # type: ignore[arg-type]
        return Authorization({k: v for k, v in params.items() if v is not None}, verifier)

    def authorize(self, authorization: Authorization | None = None, **overrides: str | None):
        authorization = authorization or self.authorization(**overrides)
        return self.browser.get(authorization.url), authorization

    def callback(self, response: Any) -> dict[str, str]:
        """The parameters the portal receives at its redirect URI."""
        assert response.status_code == 302, (response.status_code, response.text[:500])
        location = response.headers["Location"]
        assert location.startswith(self.redirect_uri + "?"), location
        return query_of(location)

    def code(self, **overrides: str | None) -> tuple[str, Authorization]:
        response, authorization = self.authorize(**overrides)
        params = self.callback(response)
        assert params["state"] == authorization.state
        assert params["iss"] == ISSUER
        return params["code"], authorization

    def exchange(self, code: str, verifier: str | None, /, **data: str) -> Any:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri}
        if verifier is not None:
            form["code_verifier"] = verifier
        form.update(data)
        return self.backend.post("/token", data=form, headers=self.auth)

    def exchange_in_form(self, code: str, verifier: str, *, secret: str | None = None) -> Any:
        """The code exchange with `client_secret_post`: the client's id and secret in the form,
        no HTTP Basic."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
            "client_id": self.client_id,
            "client_secret": self.secret if secret is None else secret,
        }
        return self.backend.post("/token", data=form)

    def sign_in(self, **overrides: str | None) -> dict[str, Any]:
        """The whole code flow for the person signed in at the hub; checks the ID token."""
        code, authorization = self.code(**overrides)
        response = self.exchange(code, authorization.verifier)
        assert response.status_code == 200, response.text
        tokens = response.get_json()
        tokens["header"], tokens["claims"] = self.verify_id_token(tokens, nonce=authorization.nonce)
        self.issued.append(tokens)
        return tokens

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(self.backend.get("/jwks.json").get_json())

    def verify_id_token(
        self, tokens: dict[str, Any], *, nonce: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """OpenID Connect Core §3.1.3.7, as a relying party checks it; (header, claims)."""
        decoded = jwt.decode(tokens["id_token"], self.jwks(), algorithms=["RS256", "ES256"])
        claims = dict(decoded.claims)
        assert claims["iss"] == ISSUER
        assert claims["aud"] == self.client_id
        assert claims["nonce"] == nonce
        assert claims["iat"] <= claims["exp"]
        digest = hashlib.sha256(tokens["access_token"].encode()).digest()  # RS256 and ES256
        assert claims["at_hash"] == b64url(digest[: len(digest) // 2])
        return dict(decoded.header), claims

    def refresh(self, refresh_token: str, **data: str) -> Any:
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token, **data}
        return self.backend.post("/token", data=form, headers=self.auth)

    def userinfo(self, access_token: str) -> Any:
        return self.backend.get("/userinfo", headers={"Authorization": f"Bearer {access_token}"})

    def revoke(self, token: str, **data: str) -> Any:
        return self.backend.post("/oauth/revoke", data={"token": token, **data}, headers=self.auth)

    def introspect(self, token: str, **data: str) -> Any:
        return self.backend.post(
            "/oauth/introspect", data={"token": token, **data}, headers=self.auth
        )


@pytest.fixture
def backend(app):
    """The portals' servers: no browser cookie."""
    return app.test_client()


@pytest.fixture
def soltea_rp(client, backend, demo) -> Portal:
    return Portal("soltea", client, backend)


@pytest.fixture
def certificateurs_rp(client, backend, demo) -> Portal:
    return Portal("certificateurs", client, backend)


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    """The tests' present, standing still until a test travels on; loaded before the demo so
    that its dates are relative to it."""
    time_machine.move_to(now, tick=False)
