"""Single sign-on sessions: one per sign-in, shared by every portal the person opens.

A session ends at its absolute lifetime, after an idle period, or at logout; ending it revokes
the tokens issued under it, so portals lose access at their next refresh even when they miss
the back-channel logout.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.config import Oidc
from hub.database import upsert_insert
from hub.oidc.models import BrowserSession, OAuthToken, OidcClient, SessionClient
from hub.oidc.secrets import digest, new_secret
from hub.users.models import User


class ClientRef(Protocol):
    """An `OidcClient` or a cached copy of one."""

    @property
    def id(self) -> int: ...


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
    """A new session for a sign-in (its id is never reused: session fixation)."""
    cookie_value = new_secret()
    browser_session = BrowserSession(
        key_hash=digest(cookie_value),
        sid=new_secret(24),
        user=user,
        auth_time=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=lifetimes.session_hours),
        ip_address=ip_address,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(browser_session)
    session.flush()
    return NewSession(browser_session, cookie_value)


@dataclass(frozen=True)
class SessionState:
    """A sign-in session as the token endpoint reads it, with the code or the refresh token it
    honours (one statement, no objects to track): enough to tell whether it is live, to name it
    in the ID token (`sid`), to bound a refresh token (`expires_at`) and to keep it from
    idling out (`keep_alive`)."""

    id: int
    sid: str
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None


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


def find_active(
    session: Session, cookie_value: str | None, *, now: datetime, lifetimes: Oidc
) -> BrowserSession | None:
    """The live session this cookie designates, or None (unknown, ended, expired or idle)."""
    if not cookie_value or len(cookie_value) > 100:
        return None
    browser_session = session.scalar(_BY_KEY, {"key_hash": digest(cookie_value)})
    if browser_session is None or not is_active(browser_session, now=now, lifetimes=lifetimes):
        return None
    return browser_session


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


def touch(browser_session: BrowserSession, *, now: datetime) -> None:
    """Keeps an used session from idling out, without a write on every request."""
    if now - browser_session.last_seen_at >= TOUCH_EVERY:
        browser_session.last_seen_at = now


_KEEP_ALIVE = (
    update(BrowserSession.__table__)
    .where(BrowserSession.__table__.c.id == bindparam("session_id"))
    .values(last_seen_at=bindparam("now"))
)


def keep_alive(session: Session, state: SessionState, *, now: datetime) -> None:
    """`touch` for a session read as a `SessionState`: one UPDATE, at most every `TOUCH_EVERY`."""
    if now - state.last_seen_at >= TOUCH_EVERY:
        session.execute(_KEEP_ALIVE, {"session_id": state.id, "now": now})


# Whether a session already signed in to a client, built once (hot path).
_SIGNED_IN_TO = select(
    exists().where(
        SessionClient.browser_session_id == bindparam("browser_session_id"),
        SessionClient.client_id == bindparam("client_id"),
    )
)


def has_signed_in_to(session: Session, browser_session: BrowserSession, client: ClientRef) -> bool:
    """Whether this session already signed in to `client` (one indexed query). Asked while
    reading, so that a sign-in writes the link only the first time (`note_sign_in`)."""
    params = {"browser_session_id": browser_session.id, "client_id": client.id}
    return bool(session.execute(_SIGNED_IN_TO, params).scalar())


def note_sign_in(
    session: Session,
    browser_session: BrowserSession,
    client: ClientRef,
    *,
    signed_in_before: bool,
    now: datetime,
) -> None:
    """The session signs in to `client` now: the client is remembered for single logout
    (unless `signed_in_before`, as `has_signed_in_to` found) and the session kept from idling
    out."""
    if not signed_in_before:
        remember_client(session, browser_session, client)
    touch(browser_session, now=now)


def remember_client(session: Session, browser_session: BrowserSession, client: ClientRef) -> None:
    """Notes that this session signed in to `client` (idempotent, safe under concurrency: one
    `INSERT … ON CONFLICT DO NOTHING`, no savepoint). Callers on a hot path check first."""
    table = SessionClient.__table__
    session.execute(
        upsert_insert(session, table)
        .values(browser_session_id=browser_session.id, client_id=client.id, first_seen_at=utcnow())
        .on_conflict_do_nothing(index_elements=[table.c.browser_session_id, table.c.client_id])
    )
    session.expire(browser_session, ["clients"])


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
