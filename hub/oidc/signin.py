"""Signing in with an identifiant (or e-mail address) and a password (R14: one identity for
every portal), with throttling and a security trail.

Whatever went wrong — unknown identifiant, wrong password, no password chosen yet, throttled —
the person gets one generic answer, and the work done takes about the same time (a dummy hash
is verified when there is nobody to check), so the answer never tells whether an identifiant
exists. The audit log, which only operators read, keeps the real reason.

The web layer calls, in order: `refused_until` and `find_candidate` (reads), `verify` (the slow
hash, outside any transaction), then `succeed`, `fail` or `refuse` (writes), and commits.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from sqlalchemy.orm import Session

from hub import throttle
from hub.actors import ANONYMOUS
from hub.audit.services import PortalRef, audited_login, record
from hub.config import PasswordHashing, Throttling
from hub.passwords import PASSWORD_MAX, hash_password, needs_rehash, verify_password
from hub.users.models import User
from hub.users.services import find_user

LOGIN_MAX = throttle.LOGIN_MAX


class FailureReason(StrEnum):
    """Why an attempt failed, for the audit log only (never shown: no enumeration)."""

    UNKNOWN = "unknown_identifiant"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a reason, not a password
    NO_PASSWORD = "no_password"  # noqa: S105 - a reason, not a password
    INVALID_INPUT = "invalid_input"


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking a password: `user` when it matched, otherwise `reason`."""

    user: User | None
    reason: FailureReason | None = None
    new_hash: str | None = None  # the password hashed with today's parameters, to store
    temporary: bool = False  # matched the temporary password of « Mot de passe oublié » (R14)


def is_acceptable_login(login: str) -> bool:
    """Whether `login` could name somebody: not blank, not longer than an e-mail address, no
    control character (PostgreSQL cannot even compare a string holding NUL)."""
    return (
        bool(login.strip())
        and len(login) <= LOGIN_MAX
        and not any(unicodedata.category(char) == "Cc" for char in login)
    )


def find_candidate(session: Session, login: str) -> User | None:
    """The person this identifiant or e-mail address names, if the input is acceptable."""
    return find_user(session, login) if is_acceptable_login(login) else None


def refused_until(
    session: Session, login: str, *, ip_address: str | None, now: datetime
) -> datetime | None:
    """Until when attempts for this identifiant or from this address are refused, if they are.
    A refused attempt checks no password."""
    keys = (throttle.user_key(login), throttle.ip_key(ip_address))
    return throttle.refused_until(session, keys, now=now)


@lru_cache(maxsize=4)
def _dummy_hash(params: PasswordHashing) -> str:
    return hash_password("no-such-person", params)


def verify(
    login: str,
    password: str,
    candidate: User | None,
    *,
    params: PasswordHashing,
    now: datetime,
) -> Verdict:
    """Checks `password` for `candidate`: their password, else their temporary one (R14) while
    it is valid; the old password keeps working until a new one is chosen. An unknown person or
    one without any password costs one hash verification like everybody else. A match made
    with older cost parameters comes with the password hashed again with the current ones."""
    if not is_acceptable_login(login) or not password or len(password) > PASSWORD_MAX:
        return Verdict(None, FailureReason.INVALID_INPUT)
    temporary = _live_temporary_hash(candidate, now) if candidate is not None else None
    if candidate is None or not (candidate.password_hash or temporary):
        verify_password(_dummy_hash(params), password, params)
        reason = FailureReason.UNKNOWN if candidate is None else FailureReason.NO_PASSWORD
        return Verdict(None, reason)
    if verify_password(candidate.password_hash, password, params):
        new_hash = None
        if needs_rehash(candidate.password_hash or "", params):
            new_hash = hash_password(password, params)
        return Verdict(candidate, new_hash=new_hash)
    if temporary is not None and verify_password(temporary, password, params):
        return Verdict(candidate, temporary=True)
    return Verdict(None, FailureReason.WRONG_PASSWORD)


def _live_temporary_hash(user: User, now: datetime) -> str | None:
    expires_at = user.temporary_password_expires_at
    if user.temporary_password_hash is None or expires_at is None or now >= expires_at:
        return None
    return user.temporary_password_hash


def succeed(
    session: Session,
    verdict: Verdict,
    *,
    login: str,
    ip_address: str | None,
    now: datetime,
    portal: PortalRef | None = None,
) -> User:
    """Records a successful sign-in: clears the identifiant's failures (not the address's: one
    right password says nothing of the other identifiants tried from there), stores a rehash.

    A temporary password is used up, and the person must choose a new password before going
    anywhere (`User.password_must_change`); signing in with their own password again lifts
    that requirement, since they know it."""
    user = verdict.user
    if user is None:
        raise ValueError("succeed() needs a verdict with a user")
    throttle.clear(session, throttle.user_key(login))
    if verdict.new_hash is not None:
        user.password_hash = verdict.new_hash
    if verdict.temporary:
        user.temporary_password_hash = user.temporary_password_expires_at = None
    if user.password_must_change != verdict.temporary:  # set unchanged, it still costs a flush
        user.password_must_change = verdict.temporary
    after: dict[str, object] = {"ip": ip_address}
    if verdict.temporary:
        after["temporary_password"] = True
    record(
        session,
        actor=user,
        action="session.sign_in",
        now=now,
        portal=portal,
        target=user,
        after=after,
    )
    return user


def fail(
    session: Session,
    verdict: Verdict,
    *,
    login: str,
    candidate: User | None,
    ip_address: str | None,
    now: datetime,
    throttling: Throttling,
    portal: PortalRef | None = None,
) -> list[throttle.Failure]:
    """Records a failed sign-in: counts it for the identifiant and the address, audits it, and
    audits a lock when this failure started one."""
    keys = (throttle.user_key(login), throttle.ip_key(ip_address))
    failures = [
        throttle.count_failure(session, key, now=now, throttling=throttling) for key in keys
    ]
    reason = verdict.reason.value if verdict.reason is not None else None
    record(
        session,
        actor=ANONYMOUS,
        action="session.sign_in_failed",
        now=now,
        portal=portal,
        target=candidate,
        after={"identifiant": audited_login(login), "ip": ip_address, "reason": reason},
    )
    for failure in failures:
        if failure.locked and failure.refused_until is not None:
            record(
                session,
                actor=ANONYMOUS,
                action="session.sign_in_locked",
                now=now,
                portal=portal,
                target=candidate if failure.key.startswith(throttle.USER_PREFIX) else None,
                after={
                    "key": audited_login(failure.key),
                    "failures": failure.failures,
                    "locked_until": failure.refused_until.isoformat(),
                },
            )
    return failures


def refuse(
    session: Session,
    *,
    login: str,
    ip_address: str | None,
    now: datetime,
    until: datetime,
    portal: PortalRef | None = None,
) -> None:
    """Records an attempt refused by throttling (no password was checked)."""
    record(
        session,
        actor=ANONYMOUS,
        action="session.sign_in_throttled",
        now=now,
        portal=portal,
        after={
            "identifiant": audited_login(login),
            "ip": ip_address,
            "refused_until": until.isoformat(),
        },
    )
