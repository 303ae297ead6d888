"""Password hashing with argon2id; the cost parameters are configuration (`PasswordHashing`)."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hub.config import PasswordHashing

PASSWORD_MAX = 1024  # longer input is no password anybody chose (and would cost hashing time)


@lru_cache(maxsize=8)
def _hasher(params: PasswordHashing) -> PasswordHasher:
    return PasswordHasher(
        time_cost=params.time_cost,
        memory_cost=params.memory_cost,
        parallelism=params.parallelism,
        type=Type.ID,
    )


def hash_password(password: str, params: PasswordHashing) -> str:
    return _hasher(params).hash(password)


def verify_password(stored_hash: str | None, password: str, params: PasswordHashing) -> bool:
    """False for a wrong password, a missing hash or a corrupt one: callers give one answer."""
    if not stored_hash:
        return False
    try:
        return _hasher(params).verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str, params: PasswordHashing) -> bool:
    """True when the hash was made with other cost parameters than the configured ones."""
    return _hasher(params).check_needs_rehash(stored_hash)
