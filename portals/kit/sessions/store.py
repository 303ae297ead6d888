"""Reading and writing `portal_sessions` rows. Every operation is one short transaction with a
targeted statement, so that concurrent requests of one browser never overwrite each other's
columns: the Flask session writes only `data`, a refresh only the sign-in columns."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine, RowMapping

from portals.kit.models import portal_sessions

FORGET_AFTER = timedelta(hours=24)  # a row unused this long is gone; the hub session is shorter
TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class SignIn:
    """A person's sign-in at the hub, as this portal holds it: the hub's session id (`sid`,
    what back-channel logout names), the person (`sub`), the tokens, the claims last read
    from the userinfo endpoint and when they were read."""

    sid: str | None
    sub: str
    access_token: str
    refresh_token: str | None
    id_token: str | None
    access_expires_at: datetime
    claims: dict[str, Any]
    claims_read_at: datetime

    @classmethod
    def from_row(cls, row: RowMapping) -> SignIn | None:
        if row["sub"] is None:
            return None
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})

    def columns(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StoredSession:
    data: dict[str, Any]
    sign_in: SignIn | None
    last_seen_at: datetime


def load(engine: Engine, hashed: str, *, now: datetime) -> StoredSession | None:
    with engine.connect() as connection:
        row = (
            connection.execute(select(portal_sessions).where(portal_sessions.c.key_hash == hashed))
            .mappings()
            .first()
        )
    if row is None or row["last_seen_at"] <= now - FORGET_AFTER:
        return None
    return StoredSession(dict(row["data"]), SignIn.from_row(row), row["last_seen_at"])


def create(
    engine: Engine, hashed: str, data: dict[str, Any], sign_in: SignIn | None, *, now: datetime
) -> None:
    values: dict[str, Any] = {
        "key_hash": hashed,
        "data": data,
        "created_at": now,
        "last_seen_at": now,
    }
    if sign_in is not None:
        values |= sign_in.columns()
    with engine.begin() as connection:
        connection.execute(insert(portal_sessions).values(values))


def save_data(engine: Engine, hashed: str, data: dict[str, Any], *, now: datetime) -> bool:
    """Writes the Flask session dict; False when the row is gone (logged out meanwhile): a
    session ended by the hub is never brought back by a request that was already running."""
    with engine.begin() as connection:
        result = connection.execute(
            update(portal_sessions)
            .where(portal_sessions.c.key_hash == hashed)
            .values(data=data, last_seen_at=now)
        )
    return result.rowcount == 1


def touch(engine: Engine, hashed: str, *, last_seen_at: datetime, now: datetime) -> None:
    if now - last_seen_at < TOUCH_EVERY:
        return
    with engine.begin() as connection:
        connection.execute(
            update(portal_sessions)
            .where(portal_sessions.c.key_hash == hashed)
            .values(last_seen_at=now)
        )


def end(engine: Engine, hashed: str) -> None:
    with engine.begin() as connection:
        connection.execute(delete(portal_sessions).where(portal_sessions.c.key_hash == hashed))


def end_by_sid(engine: Engine, sid: str) -> int:
    """Back-channel logout naming the hub session: every portal session it signed in."""
    with engine.begin() as connection:
        result = connection.execute(delete(portal_sessions).where(portal_sessions.c.sid == sid))
    return result.rowcount


def end_by_sub(engine: Engine, sub: str) -> int:
    """Back-channel logout naming only the person: all of their sessions here."""
    with engine.begin() as connection:
        result = connection.execute(delete(portal_sessions).where(portal_sessions.c.sub == sub))
    return result.rowcount


def forget_idle(engine: Engine, *, now: datetime) -> None:
    """Removes rows nobody used for `FORGET_AFTER` (abandoned sign-in attempts, closed
    browsers); called at each sign-in, often enough to keep the table small."""
    with engine.begin() as connection:
        connection.execute(
            delete(portal_sessions).where(portal_sessions.c.last_seen_at < now - FORGET_AFTER)
        )


# --- refreshing a sign-in ------------------------------------------------------------------------


def claim_refresh(engine: Engine, hashed: str, *, now: datetime, lease: timedelta) -> bool:
    """Takes the right to refresh this sign-in for `lease`; False when another request of the
    same browser holds it (a refresh token presented twice would end the whole sign-in)."""
    with engine.begin() as connection:
        result = connection.execute(
            update(portal_sessions)
            .where(portal_sessions.c.key_hash == hashed, portal_sessions.c.sub.is_not(None))
            .where(
                or_(
                    portal_sessions.c.refreshing_until.is_(None),
                    portal_sessions.c.refreshing_until < now,
                )
            )
            .values(refreshing_until=now + lease)
        )
    return result.rowcount == 1


def release_refresh(engine: Engine, hashed: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(portal_sessions)
            .where(portal_sessions.c.key_hash == hashed)
            .values(refreshing_until=None)
        )


def store_refresh(engine: Engine, hashed: str, sign_in: SignIn) -> bool:
    """Saves the new tokens and claims and releases the claim; False when the session ended
    meanwhile (back-channel logout while we were talking to the hub)."""
    values = sign_in.columns() | {"refreshing_until": None}
    with engine.begin() as connection:
        result = connection.execute(
            update(portal_sessions)
            .where(portal_sessions.c.key_hash == hashed, portal_sessions.c.sub.is_not(None))
            .values(values)
        )
    return result.rowcount == 1


def current_sign_in(engine: Engine, hashed: str) -> tuple[SignIn | None, datetime | None]:
    """The sign-in as stored now and whether a refresh is under way (its lease end)."""
    with engine.connect() as connection:
        row = (
            connection.execute(select(portal_sessions).where(portal_sessions.c.key_hash == hashed))
            .mappings()
            .first()
        )
    if row is None:
        return None, None
    return SignIn.from_row(row), row["refreshing_until"]
