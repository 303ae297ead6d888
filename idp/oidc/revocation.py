"""RFC 7009 token revocation at `/oauth/revoke`, for the client the token was issued to."""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import current_app

from hub.clock import utcnow
from hub.oidc import tokens
from idp.extensions import db
from idp.oidc.adapters import AUTH_METHODS, IssuedToken, RelyingParty, presented_token
from idp.web.settings import settings_of


class Revocation(RevocationEndpoint):
    """Revoking either token of a grant revokes the whole grant: every access and refresh
    token of its family. A token the hub does not know, or another client's, is answered
    200 and left alone (RFC 7009 §2.2: the client could do nothing with an error)."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def check_params(self, request: Any, client: RelyingParty) -> None:
        """Only `token` is required; an unknown `token_type_hint` is ignored (§2.1)."""
        if not request.form.get("token"):
            raise InvalidRequestError("Missing 'token'.")

    def authenticate_token(self, request: Any, client: RelyingParty) -> IssuedToken | None:
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if token is None or not token.check_client(client):
            return None
        return token

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        lifetimes = settings_of(current_app).oidc
        return presented_token(
            db.session, token_string, token_type_hint, now=utcnow(), lifetimes=lifetimes
        )

    def revoke_token(self, token: IssuedToken, request: Any) -> None:
        tokens.revoke_family(db.session, token.row.family, now=utcnow())
