"""Random secrets and the digests the database keeps of them."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_secret(nbytes: int = 32) -> str:
    """URL-safe, 256 bits by default: codes, tokens, session keys, generated client secrets."""
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    """SHA-256, hex. Enough for random high-entropy secrets, and fast on the token path."""
    return hashlib.sha256(value.encode()).hexdigest()


def matches(value: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(value), stored_digest)
