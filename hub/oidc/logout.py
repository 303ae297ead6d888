"""Single logout (DESIGN.md §3): ending a person's session everywhere, and the queue of
back-channel logout tokens (OpenID Connect Back-Channel Logout 1.0) still owed to portals.

The logout itself never talks to a portal: it ends the session, revokes its tokens and writes one
`LogoutDelivery` per portal to notify, all in the person's transaction. Once that is committed,
the logout request posts them at once, in parallel, and answers the person when the portals
have (or after a short wait); the sender retries whatever that left (`idp.oidc.backchannel`).
The rows kept here say what is left to send and when. Signing needs the key ring, which lives in
the web app, so it comes in as a `Signer`.

A delivery is claimed by a conditional UPDATE that counts the attempt and leases the row before
the portal is contacted: two senders never post the same token at once, and a sender that dies
mid-post leaves a row another one retries once the lease is over.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.actors import System
from hub.audit.services import record
from hub.oidc import sessions
from hub.oidc.models import BrowserSession, LogoutDelivery, OidcClient
from hub.oidc.secrets import new_secret
from hub.transactions import waiting_for_database

log = logging.getLogger("hub.oidc.logout")

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"  # noqa: S105 - the JWT `typ` header, Back-Channel Logout 1.0 §2.4
LOGOUT_TOKEN_LIFETIME = timedelta(minutes=2)

FIRST_RETRY = timedelta(seconds=10)
LONGEST_RETRY = timedelta(minutes=10)
MAX_ATTEMPTS = 10  # about 40 minutes of retries with the back-off above
GIVE_UP_AFTER = timedelta(hours=24)  # the portal's own session has ended long before
LEASE = timedelta(minutes=1)  # longer than one POST can take with the sender's timeouts
RECORD_WAIT = LEASE / 2  # an outcome waits this long for a database gone away, within the lease
JITTER = 0.1  # up to 10 % later, so that deliveries failed together do not retry together

SENDER = System("backchannel-logout")

Signer = Callable[[OidcClient, dict[str, Any]], str]
"""Signs logout token claims for a client with the hub's key of the client's algorithm."""


def logout_claims(
    *, issuer: str, client: OidcClient, browser_session: BrowserSession, now: datetime
) -> dict[str, Any]:
    """The claims of a logout token for `client` (Back-Channel Logout 1.0 §2.4): both `sub`
    and `sid`, so a portal can end that one session or all of the person's; never a `nonce`,
    so that a logout token can never pass for an ID token."""
    return {
        "iss": issuer,
        "aud": client.client_id,
        "iat": int(now.timestamp()),
        "exp": int((now + LOGOUT_TOKEN_LIFETIME).timestamp()),
        "jti": new_secret(16),
        "sub": browser_session.user.public_id,
        "sid": browser_session.sid,
        "events": {BACKCHANNEL_LOGOUT_EVENT: {}},
    }


def reissued_claims(claims: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """The same logout, as a new token a portal accepts now: a retry may come long after the
    first token expired (portals check `exp`), and a new token needs a new `jti`."""
    return {
        **claims,
        "iat": int(now.timestamp()),
        "exp": int((now + LOGOUT_TOKEN_LIFETIME).timestamp()),
        "jti": new_secret(16),
    }


def log_out(
    session: Session,
    browser_session: BrowserSession,
    *,
    now: datetime,
    issuer: str,
    sign: Signer,
) -> list[LogoutDelivery]:
    """Single logout: ends the session (revoking its tokens) and queues a logout token for
    every portal the session signed in to that asked for back-channel logout; the caller
    commits. The deliveries are born leased (`LEASE`) to the request that logs out, which
    claims and posts them right after its commit: the sender cannot take one first and leave
    the person's page saying « déconnecté » before the portal knows. Should that request die,
    the sender takes them over once the lease is over."""
    user = browser_session.user
    clients = sessions.end(session, browser_session, now=now)
    deliveries = [
        LogoutDelivery(
            client=client,
            logout_token=sign(
                client,
                logout_claims(
                    issuer=issuer, client=client, browser_session=browser_session, now=now
                ),
            ),
            created_at=now,
            next_attempt_at=now + LEASE,
        )
        for client in clients
        if client.backchannel_logout_uri
    ]
    session.add_all(deliveries)
    record(
        session,
        actor=user,
        action="session.logout",
        now=now,
        target=user,
        after={
            "sid": browser_session.sid,
            "notified": sorted(delivery.client.client_id for delivery in deliveries),
        },
    )
    session.flush()
    return deliveries


# --- the delivery queue ------------------------------------------------------------------------


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class DueDelivery:
    """A claimed delivery, detached from any session: what the sender needs to post it."""

    id: int
    client_id: str
    uri: str | None  # None when the portal no longer asks for back-channel logout
    alg: str
    logout_token: str
    attempts: int  # this attempt included
    created_at: datetime


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 10 s, doubling, at most 10 min."""
    delay = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)
    return delay * (1 + random.uniform(0, JITTER))  # noqa: S311 - spreading retries, not a secret


def _pending() -> Select[tuple[int]]:
    return select(LogoutDelivery.id).where(
        LogoutDelivery.delivered_at.is_(None), LogoutDelivery.abandoned_at.is_(None)
    )


def due_ids(
    session_factory: sessionmaker[Session], *, now: datetime, limit: int, due_only: bool = True
) -> list[int]:
    """Pending deliveries whose time has come (all pending ones unless `due_only`), oldest
    first. A read only: a sender polling an empty queue never takes SQLite's writer lock."""
    query = _pending().order_by(LogoutDelivery.id).limit(limit)
    if due_only:
        query = query.where(LogoutDelivery.next_attempt_at <= now)
    with session_factory() as session:
        return list(session.scalars(query))


def claim(
    session_factory: sessionmaker[Session], delivery_id: int, *, now: datetime, due_only: bool
) -> DueDelivery | None:
    """Counts an attempt on a pending delivery and leases it; None when another sender took
    it first (the conditional UPDATE matches no row: on PostgreSQL the loser waits on the row
    lock, then sees the lease; SQLite has one writer at a time)."""
    condition = [
        LogoutDelivery.id == delivery_id,
        LogoutDelivery.delivered_at.is_(None),
        LogoutDelivery.abandoned_at.is_(None),
    ]
    if due_only:
        condition.append(LogoutDelivery.next_attempt_at <= now)
    with session_factory.begin() as session:
        result = session.execute(
            update(LogoutDelivery)
            .where(*condition)
            .values(attempts=LogoutDelivery.attempts + 1, next_attempt_at=now + LEASE)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        delivery = session.get_one(LogoutDelivery, delivery_id)
        return DueDelivery(
            id=delivery.id,
            client_id=delivery.client.client_id,
            uri=delivery.client.backchannel_logout_uri,
            alg=delivery.client.id_token_signed_response_alg,
            logout_token=delivery.logout_token,
            attempts=delivery.attempts,
            created_at=delivery.created_at,
        )


def record_attempt(
    session_factory: sessionmaker[Session],
    due: DueDelivery,
    *,
    now: datetime,
    logout_token: str,
    error: str | None,
    give_up: bool = False,
) -> Outcome:
    """Writes how the portal answered: delivered, retried after a back-off, or abandoned once
    `MAX_ATTEMPTS` or `GIVE_UP_AFTER` is reached (or at once with `give_up`). An abandoned
    logout is logged and audited: that portal may still show the person as signed in until
    its own session or its (revoked) tokens run out. The outcome waits for a database gone
    away (`RECORD_WAIT`), so that a delivered token is not posted again."""
    outcome = _outcome(due, now=now, error=error, give_up=give_up)
    values: dict[str, Any] = {"logout_token": logout_token, "last_error": error}
    if outcome is Outcome.DELIVERED:
        values["delivered_at"] = now
    elif outcome is Outcome.ABANDONED:
        values["abandoned_at"] = now
    else:
        values["next_attempt_at"] = now + backoff(due.attempts)

    def write() -> None:
        with session_factory.begin() as session:
            update_ = update(LogoutDelivery).where(LogoutDelivery.id == due.id).values(values)
            session.execute(update_)
            if outcome is Outcome.ABANDONED:
                _audit_abandon(session, due, now=now, error=error)

    waiting_for_database(
        write, seconds=RECORD_WAIT.total_seconds(), what=f"logout {due.id}'s outcome"
    )
    _log(due, outcome, error)
    return outcome


def _outcome(due: DueDelivery, *, now: datetime, error: str | None, give_up: bool) -> Outcome:
    if error is None:
        return Outcome.DELIVERED
    if give_up or due.attempts >= MAX_ATTEMPTS or now - due.created_at >= GIVE_UP_AFTER:
        return Outcome.ABANDONED
    return Outcome.RETRY


def _audit_abandon(session: Session, due: DueDelivery, *, now: datetime, error: str | None) -> None:
    client = session.scalar(select(OidcClient).filter_by(client_id=due.client_id))
    record(
        session,
        actor=SENDER,
        action="logout.abandoned",
        now=now,
        portal=client.portal if client else None,
        target=client,
        after={"delivery": due.id, "attempts": due.attempts, "error": error},
    )


def _log(due: DueDelivery, outcome: Outcome, error: str | None) -> None:
    if outcome is Outcome.DELIVERED:
        log.info("logout %s delivered to %s", due.id, due.client_id)
    elif outcome is Outcome.ABANDONED:
        log.error(
            "logout %s to %s abandoned after %s attempt(s): %s",
            due.id,
            due.client_id,
            due.attempts,
            error,
        )
    else:
        log.warning("logout %s to %s postponed: %s", due.id, due.client_id, error)


@dataclass(frozen=True)
class Backlog:
    """The logout tokens still owed to portals, and how many of them a portal already refused
    or did not answer at least once."""

    pending: int
    failing: int


def backlog(session: Session) -> Backlog:
    """The pending deliveries, counted in one query (`/metrics`): whichever process sends them,
    the failures show here."""
    failing = LogoutDelivery.last_error.is_not(None)
    count, failed = session.execute(
        select(func.count(), func.count().filter(failing)).where(
            LogoutDelivery.delivered_at.is_(None), LogoutDelivery.abandoned_at.is_(None)
        )
    ).one()
    return Backlog(count, failed)
