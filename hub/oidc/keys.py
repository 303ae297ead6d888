"""Signing keys: generated on first start, rotated by `hub keys rotate`.

One active key per algorithm signs (RS256, the OpenID Connect default, and ES256, much cheaper
to sign with). Rotation retires the active keys and makes new ones; a retired key stays in the
JWKS for a grace period longer than any token it signed can live, so relying parties verify old
tokens until they expire, then it disappears.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from hub.actors import Actor
from hub.audit.services import record
from hub.database import queue_behind_writers
from hub.oidc.models import SigningKey

ALGORITHMS = ("RS256", "ES256")
PUBLIC_MEMBERS = {"kty", "crv", "x", "y", "n", "e"}


def generate(alg: str, now: datetime) -> SigningKey:
    key: RSAKey | ECKey = (
        RSAKey.generate_key(2048, private=True) if alg == "RS256" else ECKey.generate_key("P-256")
    )
    kid = key.thumbprint()
    return SigningKey(kid=kid, alg=alg, private_jwk=key.as_dict(private=True), created_at=now)


def ensure_keys(session: Session, *, now: datetime) -> list[SigningKey]:
    """Creates an active key for each algorithm that has none; returns the new ones."""
    active = set(session.scalars(select(SigningKey.alg).where(SigningKey.retired_at.is_(None))))
    created = [generate(alg, now) for alg in ALGORITHMS if alg not in active]
    session.add_all(created)
    session.flush()
    return created


def has_signing_keys(session: Session) -> bool:
    """Whether every algorithm has an active key: what `/readyz` asks before letting the load
    balancer send requests that sign tokens."""
    active = select(func.count(func.distinct(SigningKey.alg))).where(
        SigningKey.retired_at.is_(None), SigningKey.alg.in_(ALGORITHMS)
    )
    return session.scalar(active) == len(ALGORITHMS)


def create_first_keys(session: Session, *, now: datetime) -> list[SigningKey]:
    """`ensure_keys` for a freshly migrated database, safe when several instances start at
    once: the keys' table is locked before it is read (PostgreSQL: SHARE ROW EXCLUSIVE, a lock
    that conflicts with itself and not with readers; SQLite: its writer lock), so the second
    instance waits, then finds the first one's keys and makes none. Call it first in its own
    transaction."""
    if session.get_bind().dialect.name == "postgresql":
        table = SigningKey.__tablename__
        session.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
    else:
        queue_behind_writers(session, SigningKey.__table__)
    return ensure_keys(session, now=now)


def active_keys(session: Session) -> dict[str, SigningKey]:
    """The signing key of each algorithm: the newest unretired one."""
    keys = session.scalars(
        select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.id)
    )
    return {key.alg: key for key in keys}


def published_keys(session: Session, *, now: datetime) -> list[SigningKey]:
    """Active keys and retired keys still in their grace period, newest first."""
    return list(
        session.scalars(
            select(SigningKey)
            .where(or_(SigningKey.unpublish_after.is_(None), SigningKey.unpublish_after > now))
            .order_by(SigningKey.id.desc())
        )
    )


def exists(session: Session, kid: str) -> bool:
    """Whether the hub made a key `kid` (one indexed look-up: a token naming a key an instance
    has not loaded yet)."""
    return session.scalar(select(SigningKey.id).where(SigningKey.kid == kid)) is not None


def public_jwk(key: SigningKey) -> dict[str, Any]:
    members = {name: value for name, value in key.private_jwk.items() if name in PUBLIC_MEMBERS}
    return {**members, "kid": key.kid, "alg": key.alg, "use": "sig"}


def rotate(session: Session, *, by: Actor, now: datetime, grace: timedelta) -> list[SigningKey]:
    """Retires the active keys (published for `grace` more) and creates new ones."""
    retired = list(session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None))))
    for key in retired:
        key.retired_at = now
        key.unpublish_after = now + grace
    session.flush()
    created = ensure_keys(session, now=now)
    record(
        session,
        actor=by,
        action="keys.rotate",
        now=now,
        before={"kids": [key.kid for key in retired]},
        after={"kids": [key.kid for key in created]},
    )
    return created
