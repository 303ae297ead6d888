"""The name a deposited file is shown and downloaded under. Files are stored by their SHA-256,
never by this name; it is still cleaned, because it is printed on receipts, shown on pages and
sent back in a Content-Disposition header."""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath

from portals.certificateurs.deposits import messages
from portals.certificateurs.deposits.errors import DepositRefused

MAX_LENGTH = 200
_SEPARATORS = re.compile(r"[/\\]")
_WINDOWS_RESERVED = re.compile(r'[:*?"<>|]')


def sanitise(name: str) -> str:
    """The last component of `name` (browsers of old sent full paths, attackers send `../`),
    without control or invisible formatting characters (line breaks, NUL, a right-to-left
    override that would show « fdp.exe » as « exe.pdf »), without Windows' reserved characters
    or leading dots, at most MAX_LENGTH characters with its extension kept. A name with nothing
    left is refused (DepositRefused)."""
    name = unicodedata.normalize("NFC", name or "")
    name = _SEPARATORS.split(name)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = _WINDOWS_RESERVED.sub("_", name)
    name = " ".join(name.split()).lstrip(". ").rstrip(". ")
    if not name:
        raise DepositRefused(messages.INVALID_FILENAME)
    if len(name) > MAX_LENGTH:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: MAX_LENGTH - len(suffix)].rstrip(". ") + suffix
    return name
