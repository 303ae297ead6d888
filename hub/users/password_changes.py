"""A person's password over time (R14): « Mot de passe oublié » issues a temporary password by
mail, and a new password replaces both.

The temporary password is random, single-use and valid for `TEMPORARY_LIFETIME`; until it is
used the person's own password keeps working (whoever asked may not be the person). Signing in
with it obliges the person to choose a new password first (`hub.oidc.signin.succeed`).

Hashing is slow, so the web layer hashes outside any transaction (`prepare_temporary`,
`hash_password`) and calls the writing functions afterwards. Requests are throttled per
identifiant and per address, apart from sign-in failures, and every answer is the same
whether the identifiant exists or not.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from hub import throttle
from hub.actors import ANONYMOUS, Actor
from hub.audit.services import audited_login, record
from hub.config import PasswordHashing, Throttling
from hub.passwords import hash_password
from hub.users import mails
from hub.users.models import User

TEMPORARY_LIFETIME = timedelta(hours=24)
# Five requests an hour for one identifiant (a delay from the third), thirty from one address.
RESET_THROTTLING = Throttling(
    window_minutes=60, delay_after=3, user_lock_after=5, ip_lock_after=30, lock_minutes=60
)
# No 0/O, 1/l/I: the person copies it from a mail, maybe by hand.
_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_GROUPS, _GROUP_LENGTH = 4, 4


@dataclass(frozen=True)
class TemporaryPassword:
    plain: str  # only ever in the mail
    hash: str


def prepare_temporary(params: PasswordHashing) -> TemporaryPassword:
    """A new temporary password and its hash (about 110 bits: « Xk7m-…-Qa9z »). Prepared for
    every request, known identifiant or not, so that both take the same time."""
    plain = "-".join(
        "".join(secrets.choice(_ALPHABET) for _ in range(_GROUP_LENGTH)) for _ in range(_GROUPS)
    )
    return TemporaryPassword(plain, hash_password(plain, params))


def refused_until(
    session: Session, login: str, *, ip_address: str | None, now: datetime
) -> datetime | None:
    return throttle.refused_until(session, throttle.reset_keys(login, ip_address), now=now)


def issue_temporary(
    session: Session,
    login: str,
    candidate: User | None,
    temporary: TemporaryPassword,
    *,
    ip_address: str | None,
    now: datetime,
    sign_in_url: str,
) -> None:
    """Counts the request and, when `candidate` (the person `login` names) exists, gives them
    `temporary` (replacing any earlier one) by mail. Audited either way."""
    for key in throttle.reset_keys(login, ip_address):
        throttle.count_failure(session, key, now=now, throttling=RESET_THROTTLING)
    if candidate is None:
        record(
            session,
            actor=ANONYMOUS,
            action="user.password_reset_unknown",
            now=now,
            after={"identifiant": audited_login(login), "ip": ip_address},
        )
        return
    expires_at = now + TEMPORARY_LIFETIME
    candidate.temporary_password_hash = temporary.hash
    candidate.temporary_password_expires_at = expires_at
    mails.password_temporary(
        session,
        candidate,
        temporary.plain,
        expires_at=expires_at,
        sign_in_url=sign_in_url,
        now=now,
    )
    record(
        session,
        actor=ANONYMOUS,
        action="user.password_reset",
        now=now,
        target=candidate,
        after={"ip": ip_address, "expires_at": expires_at.isoformat()},
    )


def store_new_password(
    session: Session, user: User, new_hash: str, *, by: Actor, now: datetime, forgot_url: str
) -> None:
    """Replaces the person's password (and any temporary one) by a new one, already hashed and
    checked against `hub.users.password_policy`, and tells them by mail: a change they did not
    make must not go unnoticed."""
    user.password_hash = new_hash
    user.temporary_password_hash = user.temporary_password_expires_at = None
    user.password_must_change = False
    mails.password_changed(session, user, forgot_url=forgot_url, now=now)
    record(session, actor=by, action="user.password_change", now=now, target=user)
