"""RFC 7662 token introspection at `/oauth/introspect`, for confidential clients (every
portal), each about the tokens issued to it only."""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import current_app

from hub.clock import utcnow
from hub.oidc.models import BrowserSession
from idp.extensions import db
from idp.oidc.adapters import AUTH_METHODS, IssuedToken, RelyingParty, presented_token
from idp.web.settings import settings_of


class Introspection(IntrospectionEndpoint):
    """Another client's token, like an unknown, expired or revoked one, is `{"active":
    false}`: introspection tells a portal nothing about other portals' tokens."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def check_params(self, request: Any, client: RelyingParty) -> None:
        """Only `token` is required; an unknown `token_type_hint` is ignored (§2.1)."""
        if not request.form.get("token"):
            raise InvalidRequestError("Missing 'token'.")

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        settings = settings_of(current_app)
        return presented_token(
            db.session, token_string, token_type_hint, now=utcnow(), lifetimes=settings.oidc
        )

    def check_permission(self, token: IssuedToken, client: RelyingParty, request: Any) -> bool:
        return token.check_client(client)

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        row = token.row
        settings = settings_of(current_app)
        browser_session = token.browser_session
        if browser_session is None and row.browser_session_id is not None:
            browser_session = db.session.get(BrowserSession, row.browser_session_id)
        payload = {
            "active": True,
            "scope": row.scope,
            "client_id": row.client.client_id,
            "username": row.user.username,
            "sub": row.user.public_id,
            "aud": row.client.client_id,
            "iss": settings.public_url,
            "exp": int(token.expires_at.timestamp()),
            "iat": int(row.issued_at.timestamp()),
            "token_type": "Bearer" if token.kind == "access_token" else "refresh_token",
        }
        if browser_session is not None:
            payload["sid"] = browser_session.sid
        return payload
