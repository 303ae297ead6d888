"""The hub's public signing keys (its JWKS), to verify logout tokens. Fetched when first needed,
kept for `MAX_AGE`, fetched again at once when a token names an unknown key (the hub rotated),
but such forced fetches happen at most once per `MIN_REFETCH`: forged tokens with random key
ids must not turn the portal into a flood of requests to the hub."""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from joserfc.jwk import KeySet

from portals.kit.errors import HubUnavailable

MAX_AGE = 3600.0
MIN_REFETCH = 10.0


class HubKeys:
    def __init__(self, *, timeout: float) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._keys: KeySet | None = None
        self._fetched_at = 0.0
        self._forced_at: float | None = None

    def key_set(self, jwks_uri: str, *, refetch: bool = False) -> KeySet:
        """The keys; `refetch` when a token names a key we do not know."""
        with self._lock:
            now = time.monotonic()
            forced = refetch and (self._forced_at is None or now - self._forced_at >= MIN_REFETCH)
            if self._keys is None or now - self._fetched_at >= MAX_AGE or forced:
                self._keys = KeySet.import_key_set(self._fetch(jwks_uri))
                self._fetched_at = now
                if forced:
                    self._forced_at = now
            return self._keys

    def _fetch(self, jwks_uri: str) -> Any:
        try:
            response = requests.get(jwks_uri, timeout=self.timeout)
            response.raise_for_status()
            return response.json()
        except (requests.RequestException, ValueError) as error:
            raise HubUnavailable(f"JWKS unavailable: {error}") from error
