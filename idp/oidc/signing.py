"""Signing and verifying the hub's own JWTs (ID tokens, logout tokens) with the keys of
`hub.oidc.keys`, kept in memory: the token endpoint signs on every grant and must not read and
parse keys each time. The cache is refreshed every `RELOAD_SECONDS`, so a rotation made by
another process (`hub keys rotate`) is picked up quickly; the old key stays published meanwhile.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.oidc import keys

RELOAD_SECONDS = 30.0


@dataclass(frozen=True)
class _Loaded:
    signers: dict[str, tuple[str, RSAKey | ECKey]]  # alg -> (kid, private key)
    verifiers: KeySet
    jwks: dict[str, Any]
    loaded_at: float


class InvalidJwt(Exception):
    """A token the hub did not sign, or signed differently (bad signature, unknown key)."""


class KeyRing:
    def __init__(self) -> None:
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()

    def _current(self, session: Session) -> _Loaded:
        loaded = self._loaded
        if loaded is not None and time.monotonic() - loaded.loaded_at < RELOAD_SECONDS:
            return loaded
        with self._lock:
            self._loaded = self._load(session)
            return self._loaded

    def _load(self, session: Session) -> _Loaded:
        now = utcnow()
        if keys.ensure_keys(session, now=now):
            session.commit()
        published = keys.published_keys(session, now=now)
        signers: dict[str, tuple[str, RSAKey | ECKey]] = {}
        for key in reversed(published):  # oldest first: the newest active key wins
            if key.retired_at is None:
                signers[key.alg] = (key.kid, _import(key.private_jwk, key.kid))
        public = [keys.public_jwk(key) for key in published]
        return _Loaded(
            signers=signers,
            verifiers=KeySet.import_key_set({"keys": public}),
            jwks={"keys": public},
            loaded_at=time.monotonic(),
        )

    def reload(self) -> None:
        """Forget the cache (tests, and right after `hub keys rotate` in this process)."""
        self._loaded = None

    def jwks(self, session: Session) -> dict[str, Any]:
        return self._current(session).jwks

    def sign(self, session: Session, claims: dict[str, Any], *, alg: str, typ: str = "JWT") -> str:
        kid, key = self._current(session).signers[alg]
        return jwt.encode({"alg": alg, "kid": kid, "typ": typ}, claims, key)

    def verify(self, session: Session, token: str) -> dict[str, Any]:
        """The claims of a JWT this hub signed with a published key. Time claims are not
        checked: callers decide (an `id_token_hint` may have expired)."""
        try:
            decoded = jwt.decode(
                token, self._current(session).verifiers, algorithms=list(keys.ALGORITHMS)
            )
        except (JoseError, ValueError) as error:
            raise InvalidJwt(str(error)) from error
        return dict(decoded.claims)


def _import(private_jwk: dict[str, Any], kid: str) -> RSAKey | ECKey:
    data = {**private_jwk, "kid": kid}
    return RSAKey.import_key(data) if data["kty"] == "RSA" else ECKey.import_key(data)


key_ring = KeyRing()
