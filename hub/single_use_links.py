"""Links mailed to prove that a mailbox is someone's (R12: registration; issue 6 §2: a new
e-mail address): signed with the hub's secret key (itsdangerous), expiring, single-use.

A link names a stored request by id and carries that request's random `nonce`, and its expiry.
The signature stops forgery and tampering; the nonce, compared with the stored one, stops a
link from outliving its request; single use is the request's own state (closed once), checked
by the caller under a lock.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import Session

TOKEN_MAX = 1000  # longer is no link of ours; refused before any decoding


class LinkProblem(StrEnum):
    """Why a link opens nothing, each told to the person in its own words."""

    INVALID = "invalid"  # forged, tampered with, truncated, or its request no longer exists
    EXPIRED = "expired"
    USED = "used"


@dataclass(frozen=True)
class SignedReference:
    """What a well-signed link names: a request, its nonce, its expiry (POSIX seconds)."""

    id: int
    nonce: str
    expires: int

    def is_expired(self, now: datetime) -> bool:
        return now.timestamp() >= self.expires


class Request(Protocol):
    """A stored request a link names: a registration, an e-mail change, an invitation."""

    nonce: str


R = TypeVar("R", bound=Request)


def unexpired_payload(
    serializer: URLSafeSerializer, token: str, *, now: datetime
) -> dict[str, Any] | None:
    """The payload of a signed token carrying an `exp` (POSIX seconds) still ahead of `now`;
    None when the token is forged, tampered with, malformed or expired."""
    try:
        data = serializer.loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("exp"), int):
        return None
    return data if now.timestamp() < data["exp"] else None


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class SingleUseLinks:
    """Makes and reads the links of one kind (`salt`) under `{public_url}{path}<token>`."""

    secret_key: str
    public_url: str
    path: str
    salt: str

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret_key, salt=self.salt)

    def url(self, request_id: int, nonce: str, *, expires_at: datetime) -> str:
        token = self._serializer().dumps(
            {"id": request_id, "n": nonce, "exp": int(expires_at.timestamp())}
        )
        return f"{self.public_url.rstrip('/')}{self.path}{token}"

    def read(self, token: str) -> SignedReference | None:
        """The reference a token carries, or None when it is not one of ours, untouched."""
        if not token or len(token) > TOKEN_MAX:
            return None
        try:
            data = self._serializer().loads(token)
        except BadSignature:
            return None
        if not isinstance(data, dict):
            return None
        request_id, nonce, expires = data.get("id"), data.get("n"), data.get("exp")
        if not (
            isinstance(request_id, int) and isinstance(nonce, str) and isinstance(expires, int)
        ):
            return None
        return SignedReference(request_id, nonce, expires)

    def find(
        self, session: Session, model: type[R], token: str
    ) -> tuple[SignedReference, R] | None:
        """The stored request a token names (read afresh), with what the token says of it;
        None when the token is not ours or was tampered with, or when the request no longer
        exists or was given a new nonce since (a link sent again replaces the earlier one)."""
        reference = self.read(token)
        if reference is None:
            return None
        found = session.get(model, reference.id, populate_existing=True)
        if found is None or found.nonce != reference.nonce:
            return None
        return reference, found
