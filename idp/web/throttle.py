"""Throttling as the sign-in page sees it: whose failures an attempt counts against, and how a
refused attempt is answered. The counting itself is `hub.throttle`."""

from __future__ import annotations

import math
from datetime import datetime

from flask import request


def client_address() -> str | None:
    """The address failures are counted against: the browser's, also behind a reverse proxy
    when `HUB_TRUSTED_PROXIES` counts its hops (otherwise every person would share the proxy's
    counter)."""
    return request.remote_addr


def retry_after(until: datetime, *, now: datetime) -> dict[str, str]:
    """The `Retry-After` header (RFC 9110 §10.2.3) of a refused attempt. It tells no more than
    the refusal itself: unknown identifiants are throttled exactly like known ones."""
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return {"Retry-After": str(seconds)}
