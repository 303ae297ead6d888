"""Single sign-on sessions: one per sign-in, shared by every portal the person opens.

A session ends at its absolute lifetime, after an idle period, or at logout; ending it revokes
the tokens issued under it, so portals lose access at their next refresh even when they miss
the back-channel logout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeGuard

from sqlalchemy import Label, bindparam, exists, insert, select, update
from sqlalchemy.orm import Session, make_transient_to_detached, object_session

from hub.clock import utcnow
from hub.compiled import CompiledStatement
from hub.config import Oidc
from hub.database import UPSERT_INSERTS, Executor, dialect_of
from hub.oidc import access
from hub.oidc.models import BrowserSession, OAuthToken, OidcClient, SessionClient
from hub.oidc.secrets import digest, new_secret
from hub.users.models import User


class ClientRef(Protocol):
    """An `OidcClient` or a cached copy of one."""

    @property
    def id(self) -> int: ...


_SESSIONS = BrowserSession.__table__
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


@dataclass(frozen=True)
class NewSession:
    browser_session: BrowserSession
    cookie_value: str  # the only copy of the secret: it goes into the cookie


def start(
    session: Session,
    user: User,
    *,
    now: datetime,
    lifetimes: Oidc,
    ip_address: str | None = None,
    user_agent: str | None = None,
) -> NewSession:
    """A new session for a sign-in (its id is never reused: session fixation).

    Written at once by one statement, and handed back as a `BrowserSession` the session knows
    as stored, not as pending: a sign-in's two inserts, this session and its audit event
    (`hub.audit.services.record`), cost 1.0 ms through the unit of work's flush and about 0.3
    as statements, after which a sign-in's commit has nothing to flush (measured, issue 17)."""
    cookie_value = new_secret()
    columns = {
        "key_hash": digest(cookie_value),
        "sid": new_secret(24),
        "user_id": user.id,
        "auth_time": now,
        "last_seen_at": now,
        "expires_at": now + timedelta(hours=lifetimes.session_hours),
        "ended_at": None,
        "ip_address": ip_address,
        "user_agent": (user_agent or "")[:300] or None,
    }
    (session_id,) = _INSERT_SESSION.first(session, columns)
    browser_session = BrowserSession(id=session_id, user=user, clients=[], **columns)
    make_transient_to_detached(browser_session)
    session.add(browser_session)
    return NewSession(browser_session, cookie_value)


_INSERT_SESSION = CompiledStatement(insert(_SESSIONS).returning(_SESSIONS.c.id))


@dataclass(frozen=True)
class SessionState:
    """A sign-in session as the protocol's hot path reads it, with what it serves in the same
    statement (the person at the door, the code or the refresh token), no object to track:
    enough to tell whether it is live, to bind a code to it, to name it in the ID token (`sid`),
    to bound a refresh token (`expires_at`) and to keep it from idling out (`keep_alive`)."""

    id: int
    sid: str
    user_id: int
    auth_time: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None


_STATE_FIELDS = tuple(SessionState.__dataclass_fields__)
# A session's state in the columns of a statement that reads it with something else.
_STATE_LABELS = tuple(f"session_{name}" for name in _STATE_FIELDS)
STATE_COLUMNS: list[Label[Any]] = [
    _SESSIONS.c[name].label(label) for name, label in zip(_STATE_FIELDS, _STATE_LABELS, strict=True)
]


def state_of(row: Any) -> SessionState | None:
    """The state from a row that selected `STATE_COLUMNS` (None: no session, outer-joined)."""
    if row.session_id is None:
        return None
    return SessionState(*(getattr(row, label) for label in _STATE_LABELS))


@dataclass(frozen=True)
class Arrival:
    """A live session at the authorization endpoint, read for one client in one statement:
    its state, what the endpoint asks of the person (`sub`, R14), whether the session signed in
    to this client before, and R5's facts on the client's portal."""

    state: SessionState
    public_id: str
    password_must_change: bool
    signed_in_before: bool
    facts: access.AdmissionFacts


def is_active(
    browser_session: BrowserSession | SessionState, *, now: datetime, lifetimes: Oidc
) -> bool:
    idle = timedelta(minutes=lifetimes.session_idle_minutes)
    return (
        browser_session.ended_at is None
        and now < browser_session.expires_at
        and now < browser_session.last_seen_at + idle
    )


# Built once, as every request that reads the session runs it (building it costs more than
# running it).
_BY_KEY = select(BrowserSession).where(BrowserSession.key_hash == bindparam("key_hash"))
_USERS = User.__table__
_LINKS = SessionClient.__table__
_AT_DOOR = CompiledStatement(
    select(
        *STATE_COLUMNS,
        _USERS.c.public_id,
        _USERS.c.password_must_change,
        exists()
        .where(_LINKS.c.browser_session_id == _SESSIONS.c.id)
        .where(_LINKS.c.client_id == bindparam("client_id"))
        .label("signed_in_before"),
        *access.admission_facts(_SESSIONS.c.user_id),
    )
    .join(_USERS, _USERS.c.id == _SESSIONS.c.user_id)
    .where(_SESSIONS.c.key_hash == bindparam("key_hash"))
)


def _readable(cookie_value: str | None) -> TypeGuard[str]:
    return cookie_value is not None and 0 < len(cookie_value) <= 100


def find_active(
    session: Session, cookie_value: str | None, *, now: datetime, lifetimes: Oidc
) -> BrowserSession | None:
    """The live session this cookie designates, or None (unknown, ended, expired or idle)."""
    if not _readable(cookie_value):
        return None
    browser_session = session.scalar(_BY_KEY, {"key_hash": digest(cookie_value)})
    if browser_session is None or not is_active(browser_session, now=now, lifetimes=lifetimes):
        return None
    return browser_session


def find_at_door(
    executor: Executor,
    cookie_value: str | None,
    *,
    client_id: int,
    portal_id: int,
    now: datetime,
    lifetimes: Oidc,
) -> Arrival | None:
    """`find_active` for the authorization endpoint, with what it needs next for the client
    `client_id` of portal `portal_id`, in one statement: the hot path of every sign-on."""
    if not _readable(cookie_value):
        return None
    params = {
        "key_hash": digest(cookie_value),
        "client_id": client_id,
        "portal_id": portal_id,
        "now": now,
    }
    row = _AT_DOOR.first(executor, params)
    state = None if row is None else state_of(row)
    if state is None or not is_active(state, now=now, lifetimes=lifetimes):
        return None
    return Arrival(
        state,
        row.public_id,
        row.password_must_change,
        bool(row.signed_in_before),
        access.facts_of(row),
    )


def connected_portal_ids(
    session: Session, user_id: int, *, now: datetime, lifetimes: Oidc
) -> set[int]:
    """Portals a live session of this person has signed in to (« connecté », R8)."""
    idle = timedelta(minutes=lifetimes.session_idle_minutes)
    return set(
        session.scalars(
            select(OidcClient.portal_id)
            .join(SessionClient, SessionClient.client_id == OidcClient.id)
            .join(BrowserSession, BrowserSession.id == SessionClient.browser_session_id)
            .where(BrowserSession.user_id == user_id, BrowserSession.ended_at.is_(None))
            .where(BrowserSession.expires_at > now, BrowserSession.last_seen_at > now - idle)
        )
    )


def find_by_sid(session: Session, sid: str) -> BrowserSession | None:
    return session.scalar(select(BrowserSession).filter_by(sid=sid))


_KEEP_ALIVE = CompiledStatement(
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("now"))
)


def keep_alive(executor: Executor, state: SessionState, *, now: datetime) -> None:
    """Keeps a used session from idling out, without a write on every request: one UPDATE, at
    most every `TOUCH_EVERY`."""
    if keep_alive_due(state, now=now):
        _KEEP_ALIVE.execute(executor, {"session_id": state.id, "now": now})


def keep_alive_due(state: SessionState, *, now: datetime) -> bool:
    """Whether `keep_alive` writes now."""
    return now - state.last_seen_at >= TOUCH_EVERY


def note_sign_in(executor: Executor, arrival: Arrival, client: ClientRef, *, now: datetime) -> None:
    """The session signs in to `client` now: the client is remembered for single logout
    (unless it signed in to it before: no write) and the session kept from idling out."""
    if not arrival.signed_in_before:
        remember_client(executor, arrival.state, client)
    keep_alive(executor, arrival.state, now=now)


# Built once in each database's dialect and run on the driver's cursor (`hub.compiled`): built
# at each sign-in and run by SQLAlchemy, it cost 335 µs instead of 38 (issue 17).
_REMEMBER = {
    name: CompiledStatement(
        insert_of(_LINKS).on_conflict_do_nothing(
            index_elements=[_LINKS.c.browser_session_id, _LINKS.c.client_id]
        )
    )
    for name, insert_of in UPSERT_INSERTS.items()
}


def remember_client(
    executor: Executor, browser_session: BrowserSession | SessionState, client: ClientRef
) -> None:
    """Notes that this session signed in to `client` (idempotent, safe under concurrency: one
    `INSERT … ON CONFLICT DO NOTHING`, no savepoint). Callers on a hot path check first."""
    link = {
        "browser_session_id": browser_session.id,
        "client_id": client.id,
        "first_seen_at": utcnow(),
    }
    _REMEMBER[dialect_of(executor).name].execute(executor, link)
    if isinstance(browser_session, BrowserSession):  # its loaded links are out of date
        holder = object_session(browser_session)
        if holder is not None:
            holder.expire(browser_session, ["clients"])


def end(session: Session, browser_session: BrowserSession, *, now: datetime) -> list[OidcClient]:
    """Ends the session and revokes its tokens; returns the clients to notify (back-channel)."""
    if browser_session.ended_at is None:
        browser_session.ended_at = now
    session.execute(
        update(OAuthToken)
        .where(OAuthToken.browser_session_id == browser_session.id)
        .where(OAuthToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return [link.client for link in browser_session.clients]
