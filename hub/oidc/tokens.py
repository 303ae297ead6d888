"""Authorization codes and tokens: issuing, finding, redeeming, rotating, revoking.

Only digests of codes and tokens are stored (`hub.oidc.secrets`); the raw values exist in the
responses that carry them. Every look-up is one indexed query by digest, because this is the
hot path of every sign-in and of every portal's refresh.

Single use is enforced by conditional updates (`... WHERE used_at IS NULL`), not by reading
then writing: two concurrent redemptions of one code (or one refresh token) cannot both win,
on SQLite as on PostgreSQL.

Codes are stored when issued. Sealing the grant into the code and storing it only when it is
redeemed would spare the authorization request its write, but it costs as much per sign-on
(measured on SQLite, issue 17): the same pages are written, in the token request's commit
instead, which then inserts a row where it now updates one. It would also let the hub's secret
key, with a portal's secret, mint codes for anyone.

The statements are built once, with bound parameters (building a SQLAlchemy statement costs
several times more than running it on an indexed look-up), and those of the token endpoint and
the authorization endpoint run on the driver's cursor (`hub.compiled`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Update, bindparam, insert, literal_column, select, update
from sqlalchemy.orm import Session, lazyload

import hub.models  # noqa: F401 - statements are built at import: every mapper must exist
from hub.compiled import CompiledStatement
from hub.config import Oidc
from hub.database import Executor, dialect_of
from hub.oidc import access
from hub.oidc.models import AuthorizationCode, BrowserSession, OAuthToken
from hub.oidc.secrets import digest, new_secret
from hub.oidc.sessions import STATE_COLUMNS, SessionState, state_of
from hub.users.models import User, full_name

# The token endpoint reads and writes the tables as rows, not ORM objects: nothing it reads is
# changed through the ORM, and building and tracking objects cost more than the statements.
_CODES = AuthorizationCode.__table__
_TOKENS = OAuthToken.__table__
_SESSIONS = BrowserSession.__table__
_USERS = User.__table__


@dataclass(frozen=True)
class Person:
    """Whom a code was issued to, as the ID token names them (`idp.oidc.claims`)."""

    id: int
    public_id: str
    username: str
    email: str
    email_verified: bool
    first_name: str
    last_name: str

    @property
    def full_name(self) -> str:
        return full_name(self.first_name, self.last_name)


_PERSON_FIELDS = tuple(Person.__dataclass_fields__)
_PERSON_LABELS = tuple(f"person_{name}" for name in _PERSON_FIELDS)
_PERSON_COLUMNS = [
    _USERS.c[name].label(label) for name, label in zip(_PERSON_FIELDS, _PERSON_LABELS, strict=True)
]
_CODE = CompiledStatement(
    select(*_CODES.c, *_PERSON_COLUMNS, *STATE_COLUMNS, *access.admission_facts(_CODES.c.user_id))
    .join(_USERS, _USERS.c.id == _CODES.c.user_id)
    .outerjoin(_SESSIONS, _SESSIONS.c.id == _CODES.c.browser_session_id)
    .where(_CODES.c.code_hash == bindparam("digest"))
)
_REDEEM_CODE = (
    update(_CODES)
    .where(_CODES.c.id == bindparam("code_id"), _CODES.c.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
_REVOKE_FROM_CODE = CompiledStatement(
    update(_TOKENS)
    .where(_TOKENS.c.code_id == bindparam("from_code"), _TOKENS.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)
# Nothing reads a new row back: no `RETURNING id` on PostgreSQL (`inline`).
_INSERT_CODE = CompiledStatement(insert(_CODES).inline())
_INSERT_TOKENS = CompiledStatement(insert(_TOKENS).inline())
_BY_ACCESS_TOKEN = select(OAuthToken).where(OAuthToken.access_token_hash == bindparam("digest"))
_REFRESH_GRANT = CompiledStatement(
    select(*_TOKENS.c, *STATE_COLUMNS, *access.admission_facts(_TOKENS.c.user_id))
    .outerjoin(_SESSIONS, _SESSIONS.c.id == _TOKENS.c.browser_session_id)
    .where(_TOKENS.c.refresh_token_hash == bindparam("digest"))
)
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


def _stored_after(guard: Update, name: str) -> CompiledStatement:
    """PostgreSQL: `guard` (a conditional UPDATE) and, only if it changed its row, the INSERT of
    a new `oidc_tokens` row, in one statement (the INSERT selects from the UPDATE's RETURNING):
    it returns a row when both happened."""
    changed = guard.returning(literal_column("1")).cte(name)
    columns = [column for column in _TOKENS.columns if column.key != "id"]
    values = [bindparam(f"new_{column.key}", type_=column.type) for column in columns]
    return CompiledStatement(
        insert(_TOKENS)
        .from_select([column.key for column in columns], select(*values).select_from(changed))
        .returning(literal_column("1"))  # a row when stored (its rowcount is not reported)
    )


_REDEEM_CODE_AND_STORE = _stored_after(_REDEEM_CODE, "redeemed")
_USE_REFRESH_TOKEN_AND_STORE = _stored_after(_USE_REFRESH_TOKEN, "retired")
_REDEEM_CODE = CompiledStatement(_REDEEM_CODE)
_USE_REFRESH_TOKEN = CompiledStatement(_USE_REFRESH_TOKEN)
_REVOKE_FAMILY = CompiledStatement(
    update(_TOKENS)
    .where(_TOKENS.c.family == bindparam("grant_family"), _TOKENS.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)


@dataclass(frozen=True)
class CodeGrant:
    """A stored authorization code with what the token endpoint needs to honour it: the code's
    row (`oidc_authorization_codes`' columns), its person, its sign-in session, and R5's facts
    for the portal asked about (`hub.oidc.access.decide`)."""

    code: Any  # its row: `oidc_authorization_codes` columns, by name
    user: Person
    browser_session: SessionState | None
    facts: access.AdmissionFacts


@dataclass(frozen=True)
class RefreshGrant:
    """A stored refresh token (its `oidc_tokens` row) with its sign-in session and R5's facts
    for the portal asked about."""

    token: Any  # its row: `oidc_tokens` columns, by name
    browser_session: SessionState | None
    facts: access.AdmissionFacts


def store_code(
    executor: Executor,
    code: str,
    *,
    client_id: int,
    browser_session: SessionState,
    redirect_uri: str,
    scope: str,
    nonce: str | None,
    code_challenge: str,
    code_challenge_method: str,
    now: datetime,
    lifetimes: Oidc,
    sole_write: bool = False,
) -> None:
    """Stores a new code (its digest) bound to the client, the redirect URI, the PKCE
    challenge, the nonce and the sign-in session, valid `lifetimes.code_seconds`. `sole_write`:
    the caller writes nothing after it (`hub.compiled`)."""
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
    _INSERT_CODE.execute(executor, values, sole_write=sole_write)


def find_code(executor: Executor, code: str, *, portal_id: int, now: datetime) -> CodeGrant | None:
    """The code with its person, its session and R5's facts on `portal_id` at `now`, in one
    statement; None when unknown."""
    params = {"digest": digest(code), "portal_id": portal_id, "now": now}
    row = _CODE.first(executor, params)
    if row is None:
        return None
    person = Person(*(getattr(row, label) for label in _PERSON_LABELS))
    return CodeGrant(row, person, state_of(row), access.facts_of(row))


def redeem_code(
    executor: Executor,
    code_id: int,
    *,
    now: datetime,
    issued: dict[str, Any] | None = None,
    sole_write: bool = False,
) -> bool:
    """Marks the code used, and stores the tokens `issued` from it (`new_tokens`) if any: both
    or neither. False when the code was used already (a replay, or a concurrent request that won
    the race), and nothing is stored. `sole_write`: the caller writes nothing after it when it
    returns True (`hub.compiled`)."""
    params = {"code_id": code_id, "now": now}
    return _guarded(executor, _REDEEM_CODE, _REDEEM_CODE_AND_STORE, params, issued, sole_write)


def _guarded(
    executor: Executor,
    guard: CompiledStatement,
    guard_and_store: CompiledStatement,
    params: dict[str, Any],
    issued: dict[str, Any] | None,
    sole_write: bool,
) -> bool:
    """Runs the conditional `guard` and, if it changed its row, stores `issued`: on PostgreSQL
    in one statement (`guard_and_store`, one round trip fewer), on SQLite in two (then neither
    is the sole write)."""
    if issued is not None and dialect_of(executor).name == "postgresql":
        # The row's values under names of their own: a parameter named after a column of the
        # guard's table would be added to what the UPDATE sets.
        values = {f"new_{name}": value for name, value in issued.items()}
        stored = guard_and_store.first(executor, {**values, **params}, sole_write=sole_write)
        return stored is not None
    if guard.execute(executor, params, sole_write=sole_write and issued is None) != 1:
        return False
    if issued is not None:
        store_tokens(executor, issued)
    return True


def revoke_issued_from_code(executor: Executor, code_id: int, *, now: datetime) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes every token issued from it (rotated refresh
    tokens carry the code they descend from, so the whole family goes)."""
    _REVOKE_FROM_CODE.execute(executor, {"from_code": code_id, "now": now})


def new_tokens(
    *,
    access_token: str,
    refresh_token: str | None,
    client_id: int,
    user_id: int,
    browser_session: SessionState | None,
    scope: str,
    auth_time: datetime,
    now: datetime,
    lifetimes: Oidc,
    family: str | None = None,
    code_id: int | None = None,
    refresh_expires_at: datetime | None = None,
) -> dict[str, Any]:
    """The row's values (not yet stored) keeping the digests of an access token and, usually,
    a refresh token issued together. The caller stores them (`store_tokens`) once the grant
    they come from is secured (the code redeemed, the refresh token retired).

    A refresh token lives no longer than the sign-in session it comes from (`expires_at` of
    the session): single logout and the session lifetime bound every portal's access.
    """
    if refresh_token is not None and refresh_expires_at is None and browser_session is not None:
        refresh_expires_at = browser_session.expires_at
    return {
        "access_token_hash": digest(access_token),
        "refresh_token_hash": digest(refresh_token) if refresh_token else None,
        "family": family or new_secret(12),
        "client_id": client_id,
        "user_id": user_id,
        "browser_session_id": browser_session.id if browser_session else None,
        "code_id": code_id,
        "scope": scope,
        "auth_time": auth_time,
        "issued_at": now,
        "access_expires_at": now + timedelta(seconds=lifetimes.access_token_seconds),
        "refresh_expires_at": refresh_expires_at if refresh_token else None,
        "refresh_used_at": None,
        "revoked_at": None,
    }


def store_tokens(executor: Executor, values: dict[str, Any]) -> None:
    """Writes the row with one plain INSERT (the ORM's unit of work costs twice as much, and
    nothing reads the row back in this request)."""
    _INSERT_TOKENS.execute(executor, values)


def find_by_access_token(session: Session, token: str) -> OAuthToken | None:
    """The row of an access token, with its client (and portal) and person, in one query."""
    return session.scalar(_BY_ACCESS_TOKEN, {"digest": digest(token)})


def find_refresh_grant(
    executor: Executor, token: str, *, portal_id: int, now: datetime
) -> RefreshGrant | None:
    """The refresh grant's look-up: the token's row, its session and R5's facts on
    `portal_id` at `now`, in one statement; None when unknown."""
    params = {"digest": digest(token), "portal_id": portal_id, "now": now}
    row = _REFRESH_GRANT.first(executor, params)
    if row is None:
        return None
    return RefreshGrant(row, state_of(row), access.facts_of(row))


def find_by_refresh_token(
    session: Session, token: str
) -> tuple[OAuthToken, BrowserSession | None] | None:
    """The row of a refresh token and the sign-in session it belongs to, in one query, as
    revocation and introspection read it (with its client and person)."""
    row = session.execute(_BY_REFRESH_TOKEN, {"digest": digest(token)}).first()
    return None if row is None else (row[0], row[1])


def access_token_is_active(token: OAuthToken, *, now: datetime) -> bool:
    return token.revoked_at is None and now < token.access_expires_at


def refresh_token_is_active(token: Any, *, now: datetime) -> bool:
    return (
        token.refresh_token_hash is not None
        and token.revoked_at is None
        and token.refresh_used_at is None
        and token.refresh_expires_at is not None
        and now < token.refresh_expires_at
    )


def use_refresh_token(
    executor: Executor,
    token_id: int,
    issued: dict[str, Any],
    *,
    now: datetime,
    sole_write: bool = False,
) -> bool:
    """Marks a refresh token used (rotation) and stores its successor `issued` (`new_tokens`):
    both or neither. False when it was used already, and nothing is stored: the caller then
    treats the presentation as a replay and revokes the family. `sole_write`: as
    `redeem_code`'s."""
    params = {"token_id": token_id, "now": now}
    return _guarded(
        executor, _USE_REFRESH_TOKEN, _USE_REFRESH_TOKEN_AND_STORE, params, issued, sole_write
    )


def revoke_family(executor: Executor, family: str, *, now: datetime) -> None:
    """Revokes every access and refresh token of a grant: refresh-token reuse, revocation."""
    _REVOKE_FAMILY.execute(executor, {"grant_family": family, "now": now})
