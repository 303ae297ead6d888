"""Deposited files, content-addressed: `<DEPOSITS_PATH>/<aa>/<sha256>` where `aa` is the
hash's first two digits (no folder grows too large).

An upload is streamed to a temporary file in DEPOSITS_PATH itself (same file system, so the
final rename is atomic) while it is hashed and measured; over the size limit, reading stops and
the temporary file goes: nothing is stored. The head of the file is handed to `inspect_head`
as soon as it is read, so that a file that is not what it claims is refused before the rest is
read. Two deposits of the same content share one file.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024
HEAD_BYTES = 64 * 1024


class UploadTooLarge(Exception):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"upload over {max_bytes} bytes")
        self.max_bytes = max_bytes


class EmptyUpload(Exception):
    pass


@dataclass(frozen=True)
class StoredFile:
    path: Path
    sha256: str
    size: int
    head: bytes  # the first HEAD_BYTES (or the whole file when shorter)
    lines: int  # line count (a last line without its newline counts), for progress estimates
    newly_stored: bool  # False when the same content was already kept


def path_of(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def store(
    stream: BinaryIO,
    root: Path,
    *,
    max_bytes: int,
    inspect_head: Callable[[bytes], None] = lambda head: None,
) -> StoredFile:
    """Keeps `stream` under `root`; raises UploadTooLarge, EmptyUpload, or whatever
    `inspect_head` raises, leaving nothing behind in each case."""
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".upload-{secrets.token_hex(8)}"
    digest = hashlib.sha256()
    size = 0
    head = b""
    newlines = 0
    last = b""
    inspected = False
    try:
        with temporary.open("xb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(max_bytes)
                digest.update(chunk)
                out.write(chunk)
                newlines += chunk.count(b"\n")
                last = chunk[-1:]
                if not inspected:
                    head += chunk[: HEAD_BYTES - len(head)]
                    if len(head) >= HEAD_BYTES:
                        inspect_head(head)
                        inspected = True
        if size == 0:
            raise EmptyUpload()
        if not inspected:
            inspect_head(head)
        sha256 = digest.hexdigest()
        lines = newlines + (last != b"\n")
        final = path_of(root, sha256)
        if final.exists():
            temporary.unlink()
            return StoredFile(final, sha256, size, head, lines, newly_stored=False)
        final.parent.mkdir(exist_ok=True)
        os.chmod(temporary, 0o640)
        os.replace(temporary, final)
        return StoredFile(final, sha256, size, head, lines, newly_stored=True)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def count_occurrences(path: Path, needle: bytes) -> int:
    """How many times `needle` appears in the file, read by chunks (a needle cut by a chunk's
    end is counted once): a quick estimate of an XML file's records, for progress."""
    count = 0
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            window = tail + chunk
            count += window.count(needle)
            tail = window[-(len(needle) - 1) :] if len(needle) > 1 else b""
            count -= tail.count(needle)
    return count
