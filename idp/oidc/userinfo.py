"""The UserInfo endpoint (OpenID Connect Core §5.3): the person's claims for a live access
token, and with scope `accounts` their accounts on the token's portal, read now (R5, R9)."""

from __future__ import annotations

from typing import Any

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import Response, request

from hub.clock import utcnow
from hub.oidc import tokens
from hub.oidc.access import portal_access
from hub.structures.models import MANDATE_PORTALS
from hub.structures.queries import mandating_certifiers
from idp.extensions import db
from idp.oidc.adapters import MAX_TOKEN_LENGTH, IssuedToken
from idp.oidc.claims import accounts_claim, person_claims
from idp.oidc.server import server

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
JSON_HEADERS = [("Content-Type", "application/json"), *NO_STORE.items()]


class AccessTokenValidator(BearerTokenValidator):
    """RFC 6750: a hub access token, unexpired and unrevoked, with the `openid` scope."""

    def authenticate_token(self, token_string: str) -> IssuedToken | None:
        if not token_string or len(token_string) > MAX_TOKEN_LENGTH:
            return None
        row = tokens.find_by_access_token(db.session, token_string)
        return IssuedToken(row, "access_token", now=utcnow()) if row else None


validator = AccessTokenValidator()


def _presented_token() -> str | None:
    """The bearer token from the Authorization header or, for a POST, the form body
    (RFC 6750 §2.1, §2.2); never both."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    in_header = value.strip() if scheme.lower() == "bearer" else None
    in_body = request.form.get("access_token") if request.method == "POST" else None
    if in_header and in_body:
        raise InvalidRequestError("Use one way to send the access token.")
    return in_header or in_body or None


def respond() -> Response:
    try:
        raw = _presented_token()
        if raw is None:
            # RFC 6750 §3.1: a request without credentials gets a challenge, no error code.
            return Response(status=401, headers={"WWW-Authenticate": "Bearer", **NO_STORE})
        token = validator.authenticate_token(raw)
        validator.validate_token(token, ["openid"], request)
    except OAuth2Error as error:
        response = server.handle_error_response(None, error)
        if "WWW-Authenticate" not in response.headers:
            response.headers["WWW-Authenticate"] = f'Bearer error="{error.error}"'
        return response
    assert token is not None
    return server.handle_response(200, claims_of(token), JSON_HEADERS)


def claims_of(token: IssuedToken) -> dict[str, Any]:
    row = token.row
    scopes = set(row.scope.split())
    claims = person_claims(row.user, scopes)
    if "accounts" in scopes:
        access = portal_access(db.session, row.user_id, row.client.portal, now=token.now)
        mandates = None
        if access.portal.code in MANDATE_PORTALS:
            structure_ids = [entry.structure.id for entry in access.accounts]
            mandates = mandating_certifiers(db.session, structure_ids)
        claims["accounts"] = accounts_claim(access, mandates)
    return claims
