"""What no URL or single-line field may hold: the input guard (`idp.input_guard`) refuses it in
every request, and the authorization endpoint, which answers a portal's bad request at its
redirect URI, checks its own parameters with the same predicate."""

from __future__ import annotations

import re

CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def holds_control_characters(value: str) -> bool:
    """Whether `value` holds a control character (Unicode category Cc) or a lone surrogate."""
    return CONTROL_OR_SURROGATE.search(value) is not None
