"""Authlib's view of the hub's rows: its client, authorization-code and token mixins over
`hub.oidc.models`, so that Authlib's grants and endpoints apply the protocol rules to them.

The hub's models stay plain domain classes (`hub` knows nothing of Authlib); these thin
wrappers live with the web app.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin
from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.config import Oidc
from hub.oidc import clients, sessions, tokens
from hub.oidc.models import BrowserSession
from hub.oidc.secrets import matches
from hub.oidc.sessions import SessionState
from hub.oidc.tokens import CodeGrant
from hub.users.models import User
from idp.web.client_registry import ClientRecord

# Every portal is a confidential client that may use both grants, authenticating with its
# secret either way (RFC 6749 §2.3.1); `none` (public clients) is never accepted.
AUTH_METHODS = clients.AUTH_METHODS
GRANT_TYPES = ("authorization_code", "refresh_token")
KINDS = ("access_token", "refresh_token")
MAX_TOKEN_LENGTH = 200  # the hub's codes and tokens are 43 characters


class RelyingParty(ClientMixin):
    """A portal's OIDC client."""

    def __init__(self, client: ClientRecord) -> None:
        self.client = client

    @property
    def id_token_signed_response_alg(self) -> str:
        return self.client.id_token_signed_response_alg

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> None:
        return None  # OpenID Connect: redirect_uri is always required, never guessed

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The requested scopes, deduplicated; None (invalid_scope) when one is not allowed to
        this client."""
        requested = list(dict.fromkeys((scope or "").split()))
        if not set(requested) <= self.client.scope:
            return None
        return " ".join(requested)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.client.redirect_uris  # exact match (OAuth 2.0 Security BCP)

    def check_client_secret(self, client_secret: str) -> bool:
        return matches(client_secret, self.client.secret_hash)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass(frozen=True)
class SignedIn:
    """The person at the authorization endpoint, by their live sign-in session."""

    browser_session: SessionState


class IssuedCode(AuthorizationCodeMixin):
    """A stored authorization code as the token endpoint redeems it."""

    def __init__(self, grant: CodeGrant) -> None:
        self.grant = grant
        self.row = grant.code
        self.user = grant.user
        self.browser_session = grant.browser_session
        self.facts = grant.facts

    @property
    def code_challenge(self) -> str:
        return self.row.code_challenge

    @property
    def code_challenge_method(self) -> str:
        return self.row.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.row.redirect_uri

    def get_scope(self) -> str:
        return self.row.scope

    def get_nonce(self) -> str | None:
        return self.row.nonce

    def get_auth_time(self) -> int:
        return int(self.row.auth_time.timestamp())


class IssuedToken(TokenMixin):
    """An access or refresh token, as presented: `kind` says which of the row's two it was.
    The row is an `OAuthToken` (with its client and person) for revocation and introspection,
    the plain row of `hub.oidc.tokens.find_refresh_grant` for the refresh grant."""

    def __init__(
        self,
        row: Any,
        kind: str,
        browser_session: BrowserSession | SessionState | None = None,
        *,
        now: datetime | None = None,
        session_live: bool = True,
    ) -> None:
        self.row = row
        self.kind = kind
        self.browser_session = browser_session
        self.now = now or utcnow()
        self.session_live = session_live

    @property
    def scope(self) -> str:
        return self.row.scope

    def check_client(self, client: RelyingParty) -> bool:
        return self.row.client_id == client.client.id

    def get_scope(self) -> str:
        return self.row.scope

    def get_expires_in(self) -> int:
        return max(0, int((self.expires_at - self.now).total_seconds()))

    @property
    def expires_at(self) -> datetime:
        if self.kind == "refresh_token":
            return self.row.refresh_expires_at or self.row.issued_at
        return self.row.access_expires_at

    def is_expired(self) -> bool:
        return self.now >= self.expires_at

    def is_revoked(self) -> bool:
        """A used (rotated) refresh token, or one whose sign-in session is over, counts as
        revoked: the refresh grant would refuse it."""
        if self.kind == "refresh_token" and (
            self.row.refresh_used_at is not None or not self.session_live
        ):
            return True
        return self.row.revoked_at is not None

    def get_user(self) -> User:
        return self.row.user

    def get_client(self) -> RelyingParty:
        return RelyingParty(ClientRecord.of(self.row.client))


def presented_token(
    session: Session, value: str, hint: str | None, *, now: datetime, lifetimes: Oidc
) -> IssuedToken | None:
    """The access or refresh token a client presents to revocation or introspection, looked up
    in the order its `token_type_hint` suggests (RFC 7009 §2.1: the hint only orders the
    search; an unknown hint is ignored)."""
    if not value or len(value) > MAX_TOKEN_LENGTH:
        return None
    kinds = ("refresh_token", "access_token") if hint == "refresh_token" else KINDS
    for kind in kinds:
        if kind == "access_token":
            row = tokens.find_by_access_token(session, value)
            if row is not None:
                return IssuedToken(row, kind, now=now)
            continue
        found = tokens.find_by_refresh_token(session, value)
        if found is not None:
            row, browser_session = found
            live = browser_session is not None and sessions.is_active(
                browser_session, now=now, lifetimes=lifetimes
            )
            return IssuedToken(row, kind, browser_session, now=now, session_live=live)
    return None
