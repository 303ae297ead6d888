"""The hub's authorization server: Authlib's `AuthorizationServer`, its grants and endpoints,
wired to the hub's storage (`hub.oidc`) and to Flask.

Authlib applies the protocol rules (client authentication, PKCE, scopes, prompt, error
responses, RFC 9207). What is ours: the request adapter, built straight from Flask's request
without copying it (this is the hot path), clients read from the registry's snapshots, and
token storage. Authlib's Flask integration is not used: its request wrapper refuses any
plain-http URL it sees behind a TLS-terminating proxy, and it brings signals we do not need.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections import defaultdict
from typing import Any
from urllib.parse import unquote, urlencode

from authlib.common.security import is_secure_transport
from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import (
    InsecureTransportError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Request, Response, current_app
from flask import request as flask_request
from werkzeug.datastructures import MultiDict

from hub.clock import utcnow
from hub.config import Settings
from hub.oidc import tokens
from hub.oidc.secrets import new_secret
from idp.extensions import db
from idp.oidc.adapters import IssuedCode, IssuedToken, RelyingParty
from idp.oidc.claims import SCOPES
from idp.oidc.grants import AuthorizationCodeGrant, OpenIDCode, ProofKey, RefreshTokenGrant
from idp.oidc.introspection import Introspection
from idp.oidc.revocation import Revocation
from idp.web.client_registry import registry
from idp.web.settings import settings_of

MAX_CLIENT_ID_LENGTH = 100
MAX_STATE_LENGTH = 2000  # a longer `state` is refused, and never echoed
PARAMETER_NAME = re.compile(r"[a-z_]{1,40}")


def repeated_parameter(name: str) -> str:
    """The error description for a repeated parameter, naming it only when the name is a
    plain word (descriptions are restricted to a subset of ASCII, RFC 6749 §5.2)."""
    if PARAMETER_NAME.fullmatch(name):
        return f"The '{name}' parameter is repeated."
    return "A parameter is repeated."


def _settings() -> Settings:
    return settings_of(current_app)


class HubPayload(OAuth2Payload):
    """The request's parameters: the query string of a GET, the form body of a POST."""

    def __init__(self, params: MultiDict[str, str]) -> None:
        self._params = params

    @property
    def data(self) -> MultiDict[str, str]:
        return self._params

    @functools.cached_property
    def datalist(self) -> defaultdict[str, list[str]]:
        """Built once: Authlib asks for it several times a request (repeated parameters)."""
        return defaultdict(list, {key: self._params.getlist(key) for key in self._params})

    def repeated(self) -> list[str]:
        """Parameters given more than once (RFC 6749 §3.1 and §3.2 forbid it)."""
        return [key for key in self._params if len(self._params.getlist(key)) > 1]


class HubRequest(OAuth2Request):
    """Authlib's view of the current Flask request. Its URI is built on the issuer: Authlib's
    transport check then judges the hub's public address, not the address a proxy forwarded
    to.

    Authlib's constructor is not called: per request, it parses the URI for that check (the
    issuer's scheme and host, the same for every request: judged once, `secure_issuer`) and
    counts werkzeug's headers by walking the WSGI environ. Its attributes are set here."""

    def __init__(self, request: Request, issuer: str) -> None:
        if not secure_issuer(issuer):
            raise InsecureTransportError()
        self.method = request.method
        self.uri = issuer + request.path
        self.headers = request.headers
        self._body = None
        self.client = self.auth_method = self.user = None
        self.authorization_code = self.refresh_token = self.credential = None
        self._scope = None
        self._params = request.args if request.method == "GET" else request.form
        self.payload = HubPayload(self._params)

    @property
    def args(self) -> MultiDict[str, str]:
        return self._params

    @property
    def form(self) -> MultiDict[str, str]:
        return self._params


@functools.lru_cache(maxsize=4)
def secure_issuer(issuer: str) -> bool:
    """Authlib's transport rule (https, or plain http on the loopback interface) for the
    issuer, whose scheme and host every protocol URI shares."""
    return is_secure_transport(issuer)


class HubIssuerParameter(IssuerParameter):
    """RFC 9207: `iss` in every authorization response, errors included."""

    def get_issuer(self) -> str:
        return _settings().public_url

    def add_issuer_parameter(self, authorization_server: Any, response: Response) -> None:
        location = response.headers.get("Location")
        if location is None or "?" not in location or "#" in location:
            super().add_issuer_parameter(authorization_server, response)
            return
        response.headers["Location"] = with_issuer(location, self.get_issuer())


def with_issuer(location: str, issuer: str) -> str:
    """`iss` appended to the query of an authorization response's `location` (one that has a
    query and no fragment), rather than parsing and encoding that query again as Authlib does:
    the same address."""
    return f"{location}&{_issuer_parameter(issuer)}"


@functools.lru_cache(maxsize=4)
def _issuer_parameter(issuer: str) -> str:
    return urlencode({"iss": issuer})


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """client_id and secret from an `Authorization: Basic` header's value (RFC 6749 §2.3.1:
    form-encoded, then base64). Malformed headers are no credentials, never an error of ours."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic" or not value or len(value) > 1000:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    client_id, colon, secret = decoded.partition(":")
    if not colon or not client_id or not secret:
        return None
    return unquote(client_id), unquote(secret)


def _authenticate_basic(query_client: Any, request: OAuth2Request) -> RelyingParty | None:
    credentials = basic_credentials(request.headers.get("Authorization", ""))
    if credentials is None:
        return None
    client = query_client(credentials[0])
    if client is None or not client.check_client_secret(credentials[1]):
        return None
    return client


def _authenticate_post(query_client: Any, request: OAuth2Request) -> RelyingParty | None:
    client_id = request.form.get("client_id")
    secret = request.form.get("client_secret")
    if not client_id or not secret:
        return None
    client = query_client(client_id)
    if client is None or not client.check_client_secret(secret):
        return None
    return client


def _access_token_lifetime(client: RelyingParty, grant_type: str) -> int:
    return _settings().oidc.access_token_seconds


def _new_token(**_: Any) -> str:
    return new_secret()


class HubAuthorizationServer(AuthorizationServer):
    def __init__(self) -> None:
        super().__init__(scopes_supported=list(SCOPES))
        self.register_token_generator(
            "default", BearerTokenGenerator(_new_token, _new_token, _access_token_lifetime)
        )
        # Unknown client and wrong secret answer alike: 401 invalid_client, `WWW-Authenticate:
        # Basic` (Authlib's own functions answer 400 for an unknown client sent in the form).
        self.register_client_auth_method("client_secret_basic", _authenticate_basic)
        self.register_client_auth_method("client_secret_post", _authenticate_post)
        self.register_grant(AuthorizationCodeGrant, [ProofKey(), OpenIDCode()])
        self.register_grant(RefreshTokenGrant)
        self.register_endpoint(Revocation)
        self.register_endpoint(Introspection)
        self.register_extension(HubIssuerParameter())

    def query_client(self, client_id: str | None) -> RelyingParty | None:
        """The client, from the registry's snapshot (Authlib asks several times a request)."""
        if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH or not client_id.isprintable():
            return None
        record = registry().find(db.session, client_id)
        return RelyingParty(record) if record else None

    def validate_requested_scope(self, scope: str | None) -> None:
        """OpenID Connect only: `openid` is required, and every scope must be one the hub
        offers (each client may be limited further, `RelyingParty.get_allowed_scope`)."""
        if not scope or "openid" not in scope.split():
            raise InvalidScopeError("The 'openid' scope is required.")
        super().validate_requested_scope(scope)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Prepares the row keeping the digests of the tokens just generated, bound to the
        grant they come from (the code's session and auth_time, or the refreshed token's
        family). The grant stores it once it has secured that grant (`issued_tokens`)."""
        settings = _settings()
        client: RelyingParty = request.client
        common = {
            "access_token": token["access_token"],
            "refresh_token": token.get("refresh_token"),
            "client_id": client.client.id,
            "scope": token["scope"],
            "now": utcnow(),
            "lifetimes": settings.oidc,
        }
        if isinstance(request.authorization_code, IssuedCode):
            code = request.authorization_code
            request.issued_tokens = tokens.new_tokens(
                user_id=code.user.id,
                browser_session=code.browser_session,
                auth_time=code.row.auth_time,
                code_id=code.row.id,
                **common,
            )
            return
        previous: IssuedToken = request.refresh_token
        request.issued_tokens = tokens.new_tokens(
            user_id=previous.row.user_id,
            browser_session=previous.browser_session,
            auth_time=previous.row.auth_time,
            code_id=previous.row.code_id,
            family=previous.row.family,
            refresh_expires_at=previous.row.refresh_expires_at,
            **common,
        )

    def create_oauth2_request(self, request: Any) -> HubRequest:
        if isinstance(request, HubRequest):
            return request
        # The request itself: HubRequest reads several of its attributes.
        return HubRequest(flask_request._get_current_object(), _settings().public_url)

    def handle_response(self, status: int, body: Any, headers: list[tuple[str, str]]) -> Response:
        if isinstance(body, dict):
            body = json.dumps(body, separators=(",", ":"))
        return Response(body, status=status, headers=headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Authlib's signals are not used: the hub audits sign-ins, not protocol steps."""

    def create_token_response(self, request: Any = None) -> Response:
        """Refuses repeated parameters (RFC 6749 §3.2) and a missing grant_type before Authlib
        dispatches on the grant type."""
        oauth_request = self.create_oauth2_request(request)
        repeated = oauth_request.payload.repeated()
        if repeated:
            error = InvalidRequestError(repeated_parameter(repeated[0]))
            return self.handle_error_response(oauth_request, error)
        if not oauth_request.payload.grant_type:
            error = InvalidRequestError("Missing 'grant_type'.")
            return self.handle_error_response(oauth_request, error)
        return super().create_token_response(oauth_request)

    def authorization_error(
        self, request: HubRequest, error: OAuth2Error, redirect_uri: str
    ) -> Response:
        """An error sent back to the (verified) redirect URI, with `state` and `iss`."""
        error.redirect_uri = redirect_uri
        error.redirect_fragment = False
        state = request.payload.state
        error.state = state if state and len(state) <= MAX_STATE_LENGTH else None
        response = self.handle_error_response(request, error)
        self.execute_hook("after_create_authorization_response", response)
        return response

    def authorization_response(self, status: int, body: Any, headers: list) -> Response:
        """A successful authorization response (the code), with `iss` added (RFC 9207)."""
        response = self.handle_response(status, body, headers)
        self.execute_hook("after_create_authorization_response", response)
        return response


server = HubAuthorizationServer()
