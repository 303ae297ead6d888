"""Authorization codes and tokens: issuing, finding, redeeming, rotating, revoking.

Only digests of codes and tokens are stored (`hub.oidc.secrets`); the raw values exist in the
responses that carry them. Every look-up is one indexed query by digest, because this is the
hot path of every sign-in and of every portal's refresh.

Single use is enforced by conditional updates (`... WHERE used_at IS NULL`), not by reading
then writing: two concurrent redemptions of one code (or one refresh token) cannot both win,
on SQLite as on PostgreSQL.

The statements are built once, with bound parameters: building a SQLAlchemy statement costs
several times more than running it on an indexed look-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.orm.attributes import set_committed_value

import hub.models  # noqa: F401 - statements are built at import: every mapper must exist
from hub.config import Oidc
from hub.oidc.models import AuthorizationCode, BrowserSession, OAuthToken
from hub.oidc.secrets import digest, new_secret
from hub.users.models import User

# Writes go straight to the tables: nothing in the session needs synchronising with them.
_CODES = AuthorizationCode.__table__
_TOKENS = OAuthToken.__table__

_CODE = (
    select(AuthorizationCode, User, BrowserSession)
    .options(lazyload(BrowserSession.user))  # the same person: joined once, not twice
    .join(User, User.id == AuthorizationCode.user_id)
    .outerjoin(BrowserSession, BrowserSession.id == AuthorizationCode.browser_session_id)
    .where(AuthorizationCode.code_hash == bindparam("digest"))
)
_REDEEM_CODE = (
    update(_CODES)
    .where(_CODES.c.id == bindparam("code_id"), _CODES.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
_REVOKE_FROM_CODE = (
    update(_TOKENS)
    .where(_TOKENS.c.code_id == bindparam("from_code"), _TOKENS.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)
_INSERT_CODE = insert(_CODES)
_INSERT_TOKENS = insert(_TOKENS)
_TOKEN_COLUMNS = [column.key for column in _TOKENS.columns if column.key != "id"]
_BY_ACCESS_TOKEN = select(OAuthToken).where(OAuthToken.access_token_hash == bindparam("digest"))
_BY_REFRESH_TOKEN = (
    select(OAuthToken, BrowserSession)
    # The client is the authenticated one, known already; the session's person is the
    # token's: neither is joined.
    .options(lazyload(OAuthToken.client), lazyload(BrowserSession.user))
    .outerjoin(BrowserSession, BrowserSession.id == OAuthToken.browser_session_id)
    .where(OAuthToken.refresh_token_hash == bindparam("digest"))
)
_USE_REFRESH_TOKEN = (
    update(_TOKENS)
    .where(_TOKENS.c.id == bindparam("token_id"), _TOKENS.c.refresh_used_at.is_(None))
    .values(refresh_used_at=bindparam("now"))
)
_REVOKE_FAMILY = (
    update(_TOKENS)
    .where(_TOKENS.c.family == bindparam("grant_family"), _TOKENS.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)


@dataclass(frozen=True)
class CodeGrant:
    """A stored authorization code with what the token endpoint needs to honour it."""

    code: AuthorizationCode
    user: User
    browser_session: BrowserSession | None


def store_code(
    session: Session,
    code: str,
    *,
    client_id: int,
    browser_session: BrowserSession,
    redirect_uri: str,
    scope: str,
    nonce: str | None,
    code_challenge: str,
    code_challenge_method: str,
    now: datetime,
    lifetimes: Oidc,
) -> None:
    """Stores a new code (its digest) bound to the client, the redirect URI, the PKCE
    challenge, the nonce and the sign-in session, valid `lifetimes.code_seconds`."""
    values = {
        "code_hash": digest(code),
        "client_id": client_id,
        "user_id": browser_session.user_id,
        "browser_session_id": browser_session.id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "nonce": nonce,
        "code_challenge": code_challenge,
        "code_challenge_method": code_challenge_method,
        "auth_time": browser_session.auth_time,
        "created_at": now,
        "expires_at": now + timedelta(seconds=lifetimes.code_seconds),
    }
    session.execute(_INSERT_CODE, values)


def find_code(session: Session, code: str) -> CodeGrant | None:
    """The code with its person and session, in one query; None when unknown."""
    row = session.execute(_CODE, {"digest": digest(code)}).first()
    if row is None:
        return None
    return CodeGrant(code=row[0], user=row[1], browser_session=row[2])


def redeem_code(session: Session, code: AuthorizationCode, *, now: datetime) -> bool:
    """Marks the code used; False when it already was (a replay, or a concurrent request that
    won the race)."""
    result = session.execute(_REDEEM_CODE, {"code_id": code.id, "now": now})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(code, "used_at", now)  # already written: no second UPDATE
    return True


def revoke_issued_from_code(session: Session, code: AuthorizationCode, *, now: datetime) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes every token issued from it (rotated refresh
    tokens carry the code they descend from, so the whole family goes)."""
    session.execute(_REVOKE_FROM_CODE, {"from_code": code.id, "now": now})


def new_tokens(
    *,
    access_token: str,
    refresh_token: str | None,
    client_id: int,
    user_id: int,
    browser_session: BrowserSession | None,
    scope: str,
    auth_time: datetime,
    now: datetime,
    lifetimes: Oidc,
    family: str | None = None,
    code_id: int | None = None,
    refresh_expires_at: datetime | None = None,
) -> OAuthToken:
    """The row (not yet stored) keeping the digests of an access token and, usually, a
    refresh token issued together. The caller stores it (`store_tokens`) once the grant it
    comes from is secured (the code redeemed, the refresh token retired).

    A refresh token lives no longer than the sign-in session it comes from (`expires_at` of
    the session): single logout and the session lifetime bound every portal's access.
    """
    if refresh_token is not None and refresh_expires_at is None and browser_session is not None:
        refresh_expires_at = browser_session.expires_at
    return OAuthToken(
        access_token_hash=digest(access_token),
        refresh_token_hash=digest(refresh_token) if refresh_token else None,
        family=family or new_secret(12),
        client_id=client_id,
        user_id=user_id,
        browser_session_id=browser_session.id if browser_session else None,
        code_id=code_id,
        scope=scope,
        auth_time=auth_time,
        issued_at=now,
        access_expires_at=now + timedelta(seconds=lifetimes.access_token_seconds),
        refresh_expires_at=refresh_expires_at if refresh_token else None,
    )


def store_tokens(session: Session, row: OAuthToken) -> None:
    """Writes the row with one plain INSERT (the ORM's unit of work costs twice as much, and
    nothing reads the row back in this request)."""
    session.execute(_INSERT_TOKENS, {name: getattr(row, name) for name in _TOKEN_COLUMNS})


def find_by_access_token(session: Session, token: str) -> OAuthToken | None:
    """The row of an access token, with its client (and portal) and person, in one query."""
    return session.scalar(_BY_ACCESS_TOKEN, {"digest": digest(token)})


def find_by_refresh_token(
    session: Session, token: str
) -> tuple[OAuthToken, BrowserSession | None] | None:
    """The row of a refresh token and the sign-in session it belongs to, in one query."""
    row = session.execute(_BY_REFRESH_TOKEN, {"digest": digest(token)}).first()
    return None if row is None else (row[0], row[1])


def access_token_is_active(token: OAuthToken, *, now: datetime) -> bool:
    return token.revoked_at is None and now < token.access_expires_at


def refresh_token_is_active(token: OAuthToken, *, now: datetime) -> bool:
    return (
        token.refresh_token_hash is not None
        and token.revoked_at is None
        and token.refresh_used_at is None
        and token.refresh_expires_at is not None
        and now < token.refresh_expires_at
    )


def use_refresh_token(session: Session, token: OAuthToken, *, now: datetime) -> bool:
    """Marks a refresh token used (rotation); False when it already was. The caller then treats
    the presentation as a replay and revokes the family."""
    result = session.execute(_USE_REFRESH_TOKEN, {"token_id": token.id, "now": now})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    set_committed_value(token, "refresh_used_at", now)  # already written: no second UPDATE
    return True


def revoke_family(session: Session, family: str, *, now: datetime) -> None:
    """Revokes every access and refresh token of a grant: refresh-token reuse, revocation."""
    session.execute(_REVOKE_FAMILY, {"grant_family": family, "now": now})
