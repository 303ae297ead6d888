"""Signing and verifying the hub's own JWTs (ID tokens, logout tokens) with the keys of
`hub.oidc.keys`, kept in memory: the token endpoint signs on every grant and must not read and
parse keys each time. The cache is refreshed every `RELOAD_SECONDS`, so a rotation made by
another process (`hub keys rotate`) is picked up quickly; the old key stays published meanwhile.
With several instances, the JWKS is read afresh and an unknown `kid` reloads the keys, so that
no instance ever refuses or hides a key another one already signs with.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.jws import extract_compact
from sqlalchemy.orm import Session

from hub.clock import utcnow
from hub.oidc import keys

RELOAD_SECONDS = 30.0


@dataclass(frozen=True)
class _Loaded:
    signers: dict[str, tuple[str, RSAKey | ECKey]]  # alg -> (kid, private key)
    verifiers: KeySet
    loaded_at: float


class InvalidJwt(Exception):
    """A token the hub did not sign, or signed differently (bad signature, unknown key)."""


class KeyRing:
    def __init__(self) -> None:
        self._loaded: _Loaded | None = None
        self._lock = threading.Lock()
        # Private keys as imported, by their JWK: importing one (the library checks the key)
        # costs tens of milliseconds, and every reload would import the same keys again.
        self._imported: dict[str, RSAKey | ECKey] = {}

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
                signers[key.alg] = (key.kid, self._private_key(key.private_jwk, key.kid))
        public = [keys.public_jwk(key) for key in published]
        return _Loaded(
            signers=signers,
            verifiers=KeySet.import_key_set({"keys": public}),
            loaded_at=time.monotonic(),
        )

    def _private_key(self, private_jwk: dict[str, Any], kid: str) -> RSAKey | ECKey:
        data = {**private_jwk, "kid": kid}
        known = json.dumps(data, sort_keys=True)
        if known not in self._imported:
            self._imported[known] = (
                RSAKey.import_key(data) if data["kty"] == "RSA" else ECKey.import_key(data)
            )
        return self._imported[known]

    def reload(self) -> None:
        """Forget the cache (tests, and right after `hub keys rotate` in this process)."""
        self._loaded = None

    def jwks(self, session: Session) -> dict[str, Any]:
        """Read afresh: with several instances, a key created by a rotation must be published
        by every instance before any of them signs with it (they sign with it from their next
        reload, at most `RELOAD_SECONDS` later). Portals cache the JWKS, so this is rare."""
        published = keys.published_keys(session, now=utcnow())
        if not published:  # a new database: its first keys
            self.reload()
            self._current(session)
            published = keys.published_keys(session, now=utcnow())
        return {"keys": [keys.public_jwk(key) for key in published]}

    def sign(self, session: Session, claims: dict[str, Any], *, alg: str, typ: str = "JWT") -> str:
        kid, key = self._current(session).signers[alg]
        return jwt.encode({"alg": alg, "kid": kid, "typ": typ}, claims, key)

    def verify(self, session: Session, token: str) -> dict[str, Any]:
        """The claims of a JWT this hub signed with a published key. Time claims are not
        checked: callers decide (an `id_token_hint` may have expired)."""
        loaded = self._current(session)
        kid = self._unknown_kid(loaded, token)
        if kid is not None and keys.exists(session, kid):
            self.reload()  # another instance signs with a key made since this one loaded
            loaded = self._current(session)
        try:
            decoded = jwt.decode(token, loaded.verifiers, algorithms=list(keys.ALGORITHMS))
        except (JoseError, ValueError) as error:
            raise InvalidJwt(str(error)) from error
        return dict(decoded.claims)

    @staticmethod
    def _unknown_kid(loaded: _Loaded, token: str) -> str | None:
        """The token's `kid` when it names none of the loaded keys."""
        try:
            kid = extract_compact(token.encode()).headers().get("kid")
        except (JoseError, ValueError):
            return None
        if not isinstance(kid, str) or any(key.kid == kid for key in loaded.verifiers.keys):
            return None
        return kid


key_ring = KeyRing()
