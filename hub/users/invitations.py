"""Invitation links (R2, « Créer un compte » for a new person; R12: the person chooses their
password): signed with the hub's secret key, valid `INVITATION_DAYS`, good for one use.

A link carries the person's `sub`, its expiry and a fingerprint of their password state:
choosing a password changes the fingerprint, so the link dies with its first use, and a
forgotten mail found later opens nothing. The page behind `{issuer}/invitation/<token>` reads
the link with `Invitations.read`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.single_use_links import unexpired_payload
from hub.users.models import User

INVITATION_DAYS = 7
INVITATION_PATH = "/invitation/"
_SALT = "hub.users.invitation"


@dataclass(frozen=True)
class Invitation:
    url: str
    expires_at: datetime


def _fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Invitations:
    """Makes and reads invitation links for the hub at `public_url`."""

    secret_key: str
    public_url: str
    days: int = INVITATION_DAYS

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret_key, salt=_SALT)

    def link(self, user: User, *, now: datetime) -> Invitation:
        """A link for `user` (flushed: it needs their `public_id`), valid from `now`."""
        expires_at = now + timedelta(days=self.days)
        token = self._serializer().dumps(
            {"sub": user.public_id, "exp": int(expires_at.timestamp()), "pw": _fingerprint(user)}
        )
        return Invitation(f"{self.public_url.rstrip('/')}{INVITATION_PATH}{token}", expires_at)

    def read(self, session: Session, token: str, *, now: datetime) -> User | None:
        """The person a link invites, or None when it is forged, expired or already used."""
        data = unexpired_payload(self._serializer(), token, now=now)
        if data is None:
            return None
        user = session.scalar(select(User).where(User.public_id == str(data.get("sub"))))
        if user is None or data.get("pw") != _fingerprint(user):
            return None
        return user
