"""Throttling of failed attempts, kept in the database so that every worker and every hub
instance sharing it sees the same counts (no process memory, no sleeping worker).

Sign-in counts its failures here, and so do the requests that must not be repeated at will:
« Mot de passe oublié » (`reset-user:…`, `reset-ip:…`), registration's look-up
(`register-ip:…`) and the support console's sign-in (`support-user:…`, `support-ip:…`), each
under keys of its own so that one never locks the others.

Two kinds of key: `user:<identifiant>` slows down guessing one person's password, `ip:<address>`
stops one machine from spraying a common password over many identifiants. Failures are counted
in a fixed window (`Throttling.window_minutes`) that starts at the first failure.

- An identifiant key, from its `delay_after`-th failure on, refuses attempts for a growing delay
  of 2^(failures − delay_after) seconds (1 s, 2 s, 4 s…, at most `MAX_DELAY`), then locks for
  `lock_minutes` at its `user_lock_after`-th failure.
- An address key only locks, at its `ip_lock_after`-th failure: a delay there would punish
  everyone behind one office's NAT for a colleague's three typos.

Refused attempts are not counted (no password was tried), so a lock ends when it says. Keys are
counted whether or not the identifiant exists, which is what keeps throttling from telling an
attacker which identifiants do.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, case, delete, func, literal, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from hub.compiled import CompiledStatement
from hub.config import Throttling
from hub.database import Base, upsert_insert

USER_PREFIX = "user:"
IP_PREFIX = "ip:"
RESET_PREFIX = "reset-"  # « Mot de passe oublié » requests: `reset-user:…`, `reset-ip:…`
SUPPORT_PREFIX = (
    "support-"  # the support console's sign-ins (R11): `support-user:…`, `support-ip:…`
)
LOGIN_MAX = 254  # the longest e-mail address; longer input is no identifiant
MAX_DELAY = timedelta(minutes=5)


def normalise_login(login: str) -> str:
    """The identifiant as `hub.users.services.find_user` compares it (NFC, trimmed, lower case),
    without control characters and cut to `LOGIN_MAX`, so that « Alice.Martin » and
    « alice.martin » share one counter and any input makes a storable key."""
    folded = unicodedata.normalize("NFC", login.strip()).lower()
    printable = "".join(char for char in folded if unicodedata.category(char) != "Cc")
    return printable[:LOGIN_MAX]


def user_key(login: str) -> str:
    return USER_PREFIX + normalise_login(login)


def ip_key(address: str | None) -> str:
    return IP_PREFIX + (address or "unknown")[:45]


def reset_keys(login: str, address: str | None) -> tuple[str, str]:
    """The keys of a password-reset request: counted apart from sign-in failures, so that
    asking for a temporary password never locks anyone out of signing in, nor the reverse."""
    return RESET_PREFIX + user_key(login), RESET_PREFIX + ip_key(address)


def support_keys(login: str, address: str | None) -> tuple[str, str]:
    """The keys of a support console sign-in (R11): an operator's directory identifiant is not
    a hub identifiant, and guessing at the console must never lock a portal person out."""
    return SUPPORT_PREFIX + user_key(login), SUPPORT_PREFIX + ip_key(address)


class LoginThrottle(Base):
    """Failed attempts counted per key (`user:<identifiant>`, `ip:<address>`, or either behind
    a prefix of its own) within a window; enough failures delay, then lock, further attempts
    for that key."""

    __tablename__ = "login_throttles"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


@dataclass(frozen=True)
class Failure:
    """A failure just counted: the key's count in its window and, when it now refuses
    attempts, until when; `locked` tells a lock (an audit-worthy event) from a short delay."""

    key: str
    failures: int
    refused_until: datetime | None
    locked: bool


# Every sign-in runs them, on the driver's cursor (`hub.compiled`): on the table rather than the
# entity (the ORM's handling of an entity's DELETE synchronises loaded objects, of which there are
# none), and the keys as plain parameters rather than an expanding IN, which SQLAlchemy rewrote
# at each execution. The look-up, a sign-in's first statement, cost 0.36 ms through the session
# and costs 0.20 with its transaction's start (measured, issue 17).
_THROTTLES = LoginThrottle.__table__
_CLEAR = CompiledStatement(delete(_THROTTLES).where(_THROTTLES.c.key == bindparam("key")))


@functools.cache
def _refused_until_statement(keys: int) -> CompiledStatement:
    """The latest lock among `keys` keys (`key0`, `key1`, …) still ahead of `now`."""
    return CompiledStatement(
        select(func.max(_THROTTLES.c.locked_until).label("until")).where(
            _THROTTLES.c.key.in_([bindparam(f"key{n}") for n in range(keys)]),
            _THROTTLES.c.locked_until > bindparam("now", type_=_THROTTLES.c.locked_until.type),
        )
    )


def refused_until(session: Session, keys: Iterable[str], *, now: datetime) -> datetime | None:
    """Until when the first of these keys to free up keeps refusing attempts: the latest
    `locked_until` still ahead of `now`, or None when every key accepts attempts."""
    params: dict[str, Any] = {f"key{n}": key for n, key in enumerate(keys)}
    if not params:
        return None
    statement = _refused_until_statement(len(params))
    params["now"] = now
    return statement.first(session, params).until


def count_failure(session: Session, key: str, *, now: datetime, throttling: Throttling) -> Failure:
    """Counts one failed attempt for `key` and sets its delay or lock.

    One upsert (`INSERT … ON CONFLICT DO UPDATE … RETURNING`, on PostgreSQL and SQLite alike)
    increments the count atomically, so concurrent failures in several workers are all counted;
    a window that has run out starts again at 1.
    """
    expired = _THROTTLES.c.window_started_at <= now - timedelta(minutes=throttling.window_minutes)
    statement = (
        upsert_insert(session, _THROTTLES)
        .values(key=key, failures=1, window_started_at=now, locked_until=None)
        .on_conflict_do_update(
            index_elements=[_THROTTLES.c.key],
            set_={
                "failures": case((expired, 1), else_=_THROTTLES.c.failures + 1),
                "window_started_at": case(
                    (expired, literal(now, _THROTTLES.c.window_started_at.type)),
                    else_=_THROTTLES.c.window_started_at,
                ),
            },
        )
        .returning(_THROTTLES.c.failures)
    )
    failures = session.execute(statement).scalar_one()
    until, locked = _refusal_after(key, failures, now=now, throttling=throttling)
    if until is not None:
        session.execute(update(LoginThrottle).filter_by(key=key).values(locked_until=until))
    return Failure(key=key, failures=failures, refused_until=until, locked=locked)


def _refusal_after(
    key: str, failures: int, *, now: datetime, throttling: Throttling
) -> tuple[datetime | None, bool]:
    """(until when the key refuses attempts, whether that is a lock) after `failures`."""
    unprefixed = key.removeprefix(RESET_PREFIX).removeprefix(SUPPORT_PREFIX)
    is_user = unprefixed.startswith(USER_PREFIX)
    lock_after = throttling.user_lock_after if is_user else throttling.ip_lock_after
    if failures >= lock_after:
        return now + timedelta(minutes=throttling.lock_minutes), True
    if is_user and failures >= throttling.delay_after:
        exponent = min(failures - throttling.delay_after, 20)  # 2^20 s is already past the cap
        return now + min(timedelta(seconds=2**exponent), MAX_DELAY), False
    return None, False


def clear(session: Session, key: str) -> None:
    """Forgets the failures of `key` (a successful sign-in clears its identifiant's count)."""
    _CLEAR.execute(session, {"key": key})
