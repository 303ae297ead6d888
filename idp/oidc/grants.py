"""The two grants the hub offers, as Authlib subclasses: the authorization code (with PKCE
S256 required of every client and OpenID Connect's ID token, R5 checked again at the exchange)
and the refresh token (rotated, with reuse detection, re-checking the session and R5 at every
use).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import grants as oidc_grants
from authlib.oidc.core.util import create_half_hash
from flask import current_app

from hub.clock import utcnow
from hub.config import Settings
from hub.errors import NotAdmitted
from hub.oidc import access, sessions, tokens
from hub.oidc.secrets import new_secret
from hub.oidc.sessions import SessionState
from hub.oidc.tokens import CodeGrant, Person
from hub.users.models import User
from idp.extensions import db
from idp.metrics import events
from idp.oidc.adapters import (
    AUTH_METHODS,
    MAX_TOKEN_LENGTH,
    IssuedCode,
    IssuedToken,
    RelyingParty,
    SignedIn,
)
from idp.oidc.claims import person_claims
from idp.oidc.signing import key_ring
from idp.oidc.transactions import connection
from idp.web.client_registry import ClientRecord
from idp.web.settings import settings_of


def _settings() -> Settings:
    return settings_of(current_app)


def session_is_live(browser_session: SessionState | None, *, now: datetime) -> bool:
    """The code's or refresh token's sign-in session is still live (the fast path asks too)."""
    return browser_session is not None and sessions.is_active(
        browser_session, now=now, lifetimes=_settings().oidc
    )


class ProofKey(CodeChallenge):
    """RFC 7636 for every client, confidential ones included (OAuth 2.0 Security BCP), with
    S256 only: `plain` (also the default when no method is given) is refused."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE with S256 is required.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class OpenIDCode(oidc_grants.OpenIDCode):
    """The ID token of the code flow, signed by the hub's key ring with the client's
    algorithm. It lives as long as the access token issued with it."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        """Never a replay for the hub: the nonce is bound to the single-use code and checked
        by the relying party in the ID token, which is what defeats replays in the code flow."""
        return False

    def encode_id_token(self, token: dict[str, Any], request: Any) -> str:
        code: IssuedCode = request.authorization_code
        client: RelyingParty = request.client
        return signed_id_token(
            client.client,
            code.grant,
            scope=token["scope"],
            access_token=token["access_token"],
            now=utcnow(),
            settings=_settings(),
        )


def signed_id_token(
    client: ClientRecord,
    grant: CodeGrant,
    *,
    scope: str,
    access_token: str,
    now: datetime,
    settings: Settings,
) -> str:
    """The ID token issued with `access_token` for the code `grant`, signed by the hub's key ring
    with the client's algorithm: the claims Authlib's `OpenIDCode` asks for (`nonce`,
    `auth_time`, `at_hash`), the session's `sid`, and the person's claims for `scope`. Also for
    the token endpoint's fast path (`idp.oidc.fast_path`)."""
    alg = client.id_token_signed_response_alg
    issued_at = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": settings.public_url,
        "aud": client.client_id,
        "iat": issued_at,
        "exp": issued_at + settings.oidc.access_token_seconds,
    }
    if grant.code.nonce:
        claims["nonce"] = grant.code.nonce
    claims["auth_time"] = int(grant.code.auth_time.timestamp())
    claims["at_hash"] = create_half_hash(access_token, alg).decode("ascii")
    if grant.browser_session is not None:
        claims["sid"] = grant.browser_session.sid
    claims.update(person_claims(grant.user, set(scope.split())))
    return key_ring.sign(db.session, claims, alg=alg)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def generate_authorization_code(self) -> str:
        return new_secret()

    def save_authorization_code(self, code: str, request: Any) -> None:
        signed_in: SignedIn = request.user
        client: RelyingParty = request.client
        data = request.payload.data
        tokens.store_code(
            connection(),
            code,
            client_id=client.client.id,
            browser_session=signed_in.browser_session,
            redirect_uri=request.payload.redirect_uri,
            scope=request.scope,
            nonce=data.get("nonce") or None,
            code_challenge=data["code_challenge"],
            code_challenge_method=data["code_challenge_method"],
            now=utcnow(),
            lifetimes=_settings().oidc,
            sole_write=True,  # the authorization endpoint's last write (`_issue_code`)
        )

    def query_authorization_code(self, code: str, client: RelyingParty) -> IssuedCode | None:
        """The code, if it was issued to this client and may still be redeemed. A code
        presented again revokes what it gave (RFC 6749 §4.1.2)."""
        if len(code) > MAX_TOKEN_LENGTH:
            return None
        now = utcnow()
        found = tokens.find_code(connection(), code, portal_id=client.client.portal.id, now=now)
        if found is None or found.code.client_id != client.client.id:
            return None  # unknown, or another client's code: invalid_grant
        if found.code.used_at is not None:
            tokens.revoke_issued_from_code(connection(), found.code.id, now=now)
            raise InvalidGrantError("The authorization code has already been used.")
        if now >= found.code.expires_at:
            raise InvalidGrantError("The authorization code has expired.")
        if not session_is_live(found.browser_session, now=now):
            raise InvalidGrantError("The sign-in session has ended.")
        return IssuedCode(found)

    def create_token_response(self) -> Any:
        """Checks R5 again, issues the tokens and signs the ID token, then redeems the code and
        stores them: the write lock is held for the writes only. Of two concurrent requests
        with one code, one gets the tokens, the other an error and the revocation of those
        tokens."""
        code: IssuedCode = self.request.authorization_code
        _refuse_unless_admitted(code, self.request.client)
        response = super().create_token_response()
        now = utcnow()
        if not _spent(code, now=now, issued=self.request.issued_tokens):
            raise InvalidGrantError("The authorization code has already been used.")
        return response

    def delete_authorization_code(self, authorization_code: IssuedCode) -> None:
        """Codes are kept, marked used, so that a replay is recognised and punished."""

    def authenticate_user(self, authorization_code: IssuedCode) -> Person:
        return authorization_code.user


class AccountRefused(InvalidGrantError):
    """`invalid_grant` carrying the French sentence the person reads, for the portal to show
    as it is. RFC 6749 §5.2 keeps `error_description` to printable ASCII, and Authlib checks
    that when an error is built: R5's sentence (DESIGN.md quotes it, accents included) is set
    after that check, on purpose; the JSON body escapes its accents."""

    def __init__(self, sentence: str) -> None:
        super().__init__()
        self.description = sentence


def _spent(code: IssuedCode, *, now: datetime, issued: dict[str, Any] | None = None) -> bool:
    """Redeems the code, storing the tokens `issued` from it; False when a concurrent exchange
    redeemed it first, whose tokens are then revoked (RFC 6749 §4.1.2: a code used twice revokes
    what it gave). Storing the tokens is the exchange's last write."""
    redeemed = tokens.redeem_code(
        connection(), code.row.id, now=now, issued=issued, sole_write=issued is not None
    )
    if redeemed:
        return True
    tokens.revoke_issued_from_code(connection(), code.row.id, now=now)
    return False


def _refuse_unless_admitted(code: IssuedCode, client: RelyingParty) -> None:
    """R5 at the exchange, as at the door (`idp.oidc.authorization`): a code lives a minute,
    and an account that expired or was deleted since, or a delegated admin right that lapsed
    with its source account (R9), gets no tokens from it. Checked once the code is proven the
    client's (redirect URI, PKCE), so that only its portal can spend it. The refusal is audited
    like the door's and the code is spent with it: renewing the account afterwards does not
    revive it. The portal gets the sentence the door's page shows."""
    now = utcnow()
    portal = client.client.portal
    try:
        access.decide(code.user.id, portal, code.facts, now=now)
    except NotAdmitted as refused:
        _spent(code, now=now)
        access.audit_refusal(
            db.session,
            refused,
            person=db.session.get_one(User, code.user.id),
            portal=portal,
            client=client.get_client_id(),
            now=now,
            action=access.EXCHANGE_REFUSED,
        )
        events.access_refused("token", refused.code)
        raise AccountRefused(refused.message) from None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Rotation: every use issues a new refresh token in the same family and retires the one
    presented; presenting a retired one revokes the family (RFC 9700 §4.14.2). No ID token is
    issued on refresh: portals read current claims from UserInfo."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        if len(refresh_token) > MAX_TOKEN_LENGTH:
            return None
        client: RelyingParty = self.request.client
        portal = client.client.portal
        now = utcnow()
        found = tokens.find_refresh_grant(connection(), refresh_token, portal_id=portal.id, now=now)
        if found is None or found.token.client_id != client.client.id:
            return None
        row = found.token
        if row.refresh_used_at is not None:
            tokens.revoke_family(connection(), row.family, now=now)
            raise InvalidGrantError("The refresh token has already been used; grant revoked.")
        if not tokens.refresh_token_is_active(row, now=now):
            return None
        if not session_is_live(found.browser_session, now=now):
            raise InvalidGrantError("The sign-in session has ended.")
        try:  # R5 again: an account that expired stops the portal session
            access.decide(row.user_id, portal, found.facts, now=now)
        except NotAdmitted as refused:
            events.access_refused("token", refused.code)
            raise InvalidGrantError(refused.code) from None
        return IssuedToken(row, "refresh_token", found.browser_session, now=now)

    def create_token_response(self) -> Any:
        """Issues the new tokens, then retires the presented refresh token and stores them: the
        grant's last write, unless the session is due its keep-alive."""
        response = super().create_token_response()
        presented: IssuedToken = self.request.refresh_token
        browser_session = presented.browser_session
        assert browser_session is not None  # checked live above
        now = utcnow()
        issued = self.request.issued_tokens
        sole_write = not sessions.keep_alive_due(browser_session, now=now)
        if not tokens.use_refresh_token(
            connection(), presented.row.id, issued, now=now, sole_write=sole_write
        ):
            tokens.revoke_family(connection(), presented.row.family, now=now)
            raise InvalidGrantError("The refresh token has already been used; grant revoked.")
        sessions.keep_alive(connection(), browser_session, now=now)  # active on a portal
        return response

    def authenticate_user(self, refresh_token: IssuedToken) -> int:
        """The person's id: nothing issued on refresh needs more of them (no ID token)."""
        return refresh_token.row.user_id

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        """Retired by `create_token_response`, in the transaction that stores its successor."""
