"""A minimal OpenID provider party for the portal kit's unit-level tests: an `http.server` on
127.0.0.1 publishing a discovery document and a JWKS, and the private keys to sign logout tokens
with. It is a party the tests run (like a real provider the kit talks to over HTTP), not a
replacement for any of our code; the real hub is exercised in tests/e2e/.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.fixtures.loopback import QuietHandler, serving
from tests.fixtures.ports import HOST

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


def new_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex, "alg": "RS256"})


@dataclass
class OidcParty:
    port: int = 0
    published: list[RSAKey] = field(default_factory=lambda: [new_key()])
    jwks_requests: int = 0

    @property
    def issuer(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def signing_key(self) -> RSAKey:
        return self.published[-1]

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "jwks_uri": f"{self.issuer}/jwks.json",
            "end_session_endpoint": f"{self.issuer}/logout",
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False) for key in self.published]}

    def logout_claims(self, *, aud: str = "soltea", **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": aud,
            "iat": now,
            "exp": now + 120,
            "jti": uuid.uuid4().hex,
            "sub": "sub-alice",
            "sid": "sid-1",
            "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
        }
        claims.update(overrides)
        return {name: value for name, value in claims.items() if value is not None}

    def sign(
        self,
        claims: dict[str, Any],
        *,
        key: RSAKey | None = None,
        typ: str | None = "logout+jwt",
    ) -> str:
        key = key or self.signing_key
        header: dict[str, Any] = {"alg": "RS256", "kid": key.kid}
        if typ:
            header["typ"] = typ
        return jwt.encode(header, claims, key)


def _handler(party: OidcParty) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                self._json(party.discovery())
            elif self.path == "/jwks.json":
                party.jwks_requests += 1
                self._json(party.jwks())
            else:
                self.send_error(404)

        def _json(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@contextmanager
def running_party() -> Iterator[OidcParty]:
    party = OidcParty()
    with serving(_handler(party)) as port:
        party.port = port
        yield party
