"""The support console's sessions (R11): separate from the single sign-on sessions of portal
people, short, and audited under the operator's own actor.

A session is a random key in the operator's cookie and its SHA-256 digest in a row
(`SupportSession`): the database never holds a usable key. It ends at sign-out, after
`Support.idle_minutes` without a request, or `Support.session_hours` after the sign-in, and a
change needs the password checked again within `Support.reauth_minutes` (`needs_reauth`).

The web layer calls, for a sign-in: `refused_until` (throttling, before the directory is asked),
then the directory, then `start`, `fail` or `refuse`, and commits. Failures are counted under the
console's own keys (`hub.throttle.support_keys`), never a portal person's.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from hub import throttle
from hub.actors import ANONYMOUS, SupportOperator
from hub.audit.services import audited_login, record
from hub.config import Support, Throttling
from hub.oidc.secrets import digest, new_secret
from hub.support.models import OperatorRole, SupportSession
from hub.support.operators import Operator

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often
COOKIE_VALUE_MAX = 100


def actor_of(row: SupportSession) -> SupportOperator:
    """The audit actor of what is done in this session: « support:login (Name) »."""
    return SupportOperator.named(row.login, row.name)


def start(
    session: Session, operator: Operator, *, now: datetime, ip_address: str | None
) -> tuple[SupportSession, str]:
    """A new console session for an operator the directory has just let in, and the value of
    its cookie (the only copy of the key). The identifiant's failures are forgotten."""
    cookie_value = new_secret()
    row = SupportSession(
        key_hash=digest(cookie_value),
        login=operator.login,
        name=operator.name,
        role=operator.role,
        created_at=now,
        last_seen_at=now,
        authenticated_at=now,
        ip_address=ip_address,
    )
    session.add(row)
    throttle.clear(session, throttle.support_keys(operator.login, ip_address)[0])
    record(
        session,
        actor=actor_of(row),
        action="support.sign_in",
        now=now,
        after={"ip": ip_address, "role": operator.role.value},
    )
    session.flush()
    return row, cookie_value


def is_active(row: SupportSession, *, now: datetime, settings: Support) -> bool:
    return (
        row.ended_at is None
        and now < row.created_at + timedelta(hours=settings.session_hours)
        and now < row.last_seen_at + timedelta(minutes=settings.idle_minutes)
    )


def find_active(
    session: Session, cookie_value: str | None, *, now: datetime, settings: Support
) -> SupportSession | None:
    """The live session this cookie designates, or None (unknown, ended, idle or too old)."""
    if not cookie_value or len(cookie_value) > COOKIE_VALUE_MAX:
        return None
    row = session.scalar(select(SupportSession).filter_by(key_hash=digest(cookie_value)))
    if row is None or not is_active(row, now=now, settings=settings):
        return None
    return row


def needs_touch(row: SupportSession, *, now: datetime) -> bool:
    return now - row.last_seen_at >= TOUCH_EVERY


def touch(row: SupportSession, *, now: datetime) -> None:
    """Keeps a used session from idling out, without a write on every request."""
    if needs_touch(row, now=now):
        row.last_seen_at = now


def end(session: Session, row: SupportSession, *, now: datetime) -> None:
    """Sign-out: the key opens nothing any more."""
    if row.ended_at is not None:
        return
    row.ended_at = now
    record(session, actor=actor_of(row), action="support.sign_out", now=now)


def needs_reauth(row: SupportSession, *, now: datetime, settings: Support) -> bool:
    """Whether a change must wait for the password to be checked again: the last check is
    older than `Support.reauth_minutes`."""
    return now >= row.authenticated_at + timedelta(minutes=settings.reauth_minutes)


def reauthenticated(
    row: SupportSession, now: datetime, *, operator: Operator | None = None
) -> None:
    """The directory accepted the password again: changes are allowed for another
    `reauth_minutes`. The name and role are those the directory gives now (`operator`), so
    that an operator moved to the readers' group stops acting at once."""
    row.authenticated_at = now
    row.last_seen_at = now
    if operator is not None:
        row.name, row.role = operator.name, operator.role
    session = _session_of(row)
    record(
        session,
        actor=actor_of(row),
        action="support.reauthenticate",
        now=now,
        after={"role": row.role.value},
    )


def refuse_action(session: Session, row: SupportSession, *, path: str, now: datetime) -> None:
    """A reader tried a change: refused, and the attempt kept in the audit log."""
    record(
        session,
        actor=actor_of(row),
        action="support.action.refused",
        now=now,
        after={"path": audited_login(path), "role": row.role.value},
    )


def refused_until(
    session: Session, login: str, *, ip_address: str | None, now: datetime
) -> datetime | None:
    """Until when console sign-ins for this identifiant or from this address are refused."""
    return throttle.refused_until(session, throttle.support_keys(login, ip_address), now=now)


def fail(
    session: Session,
    *,
    login: str,
    ip_address: str | None,
    now: datetime,
    throttling: Throttling,
    reason: str,
) -> list[throttle.Failure]:
    """A sign-in (or re-authentication) the directory refused: counted and audited."""
    failures = [
        throttle.count_failure(session, key, now=now, throttling=throttling)
        for key in throttle.support_keys(login, ip_address)
    ]
    record(
        session,
        actor=ANONYMOUS,
        action="support.sign_in_failed",
        now=now,
        after={"identifiant": audited_login(login), "ip": ip_address, "reason": reason},
    )
    return failures


def refuse(
    session: Session, *, login: str, ip_address: str | None, now: datetime, until: datetime
) -> None:
    """A sign-in refused by throttling: the directory was not asked."""
    record(
        session,
        actor=ANONYMOUS,
        action="support.sign_in_throttled",
        now=now,
        after={
            "identifiant": audited_login(login),
            "ip": ip_address,
            "refused_until": until.isoformat(),
        },
    )


def role_label(role: OperatorRole) -> str:
    return ROLE_LABELS[role]


ROLE_LABELS = {OperatorRole.OPERATOR: "Opérateur", OperatorRole.READER: "Lecture seule"}


def _session_of(row: SupportSession) -> Session:
    session = object_session(row)
    if session is None:
        raise ValueError("the support session is not attached to a database session")
    return session
