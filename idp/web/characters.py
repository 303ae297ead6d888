"""What no URL or single-line field may hold: the input guard (`idp.input_guard`) refuses it in
every request, and the authorization endpoint, which answers a portal's bad request at its
redirect URI, checks its own parameters with the same predicate. The protocol's fast path
(`idp.oidc.fast_path`) leaves to the input guard every request it would refuse."""

from __future__ import annotations

import re
from typing import Any

CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def holds_control_characters(value: str) -> bool:
    """Whether `value` holds a control character (Unicode category Cc) or a lone surrogate."""
    return CONTROL_OR_SURROGATE.search(value) is not None


CHECKED_HEADERS = ("Authorization", "User-Agent")  # looked up (tokens), stored (sessions)
_CHECKED_ENVIRON_KEYS = tuple(
    (f"HTTP_{name.upper().replace('-', '_')}", name) for name in CHECKED_HEADERS
)


def refused_header(environ: dict[str, Any]) -> str | None:
    """The first of `CHECKED_HEADERS` holding a control character."""
    for key, name in _CHECKED_ENVIRON_KEYS:
        if holds_control_characters(environ.get(key, "")):
            return name
    return None


def has_body(environ: dict[str, Any]) -> bool:
    """Whether the request announces a body (a form the input guard reads)."""
    return any(
        environ.get(key) for key in ("CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING")
    )
