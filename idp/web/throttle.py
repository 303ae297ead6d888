"""Throttling as the sign-in page sees it: whose failures an attempt counts against, and how a
refused attempt is answered. The counting itself is `hub.throttle`."""

from __future__ import annotations

import math
from datetime import datetime

from flask import request


def client_address() -> str | None:
    """The address failures are counted against. Behind a reverse proxy, deploy with werkzeug's
    `ProxyFix` so that this is the browser's address rather than the proxy's (otherwise every
    person would share one counter)."""
    return request.remote_addr


def retry_after(until: datetime, *, now: datetime) -> dict[str, str]:
    """The `Retry-After` header (RFC 9110 §10.2.3) of a refused attempt. It tells no more than
    the refusal itself: unknown identifiants are throttled exactly like known ones."""
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return {"Retry-After": str(seconds)}
