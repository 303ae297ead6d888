"""The demo's mail catcher (issue 6 §5): a real SMTP server on 127.0.0.1 that keeps every
message it receives as an `.eml` file instead of delivering it, so that someone trying the demo
with `make run` can open the validation and password mails without any mail server.

Mail reaches it through the normal path (outbox → sender → SMTP), so the demo shows what
production does. The hub's page `/dev/mail` lists what was caught; it exists only when
`HUB_MAIL_CATCHER` names the folder (`hub run --demo` without `HUB_SMTP_HOST` sets it).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from hub.clock import utcnow

HOST = "127.0.0.1"
_NAME = re.compile(r"\d{8}T\d{6}-\d{6}\.eml")  # what `CatchingHandler` writes, nothing else
_counter = itertools.count(1)


class CatchingHandler:
    """aiosmtpd handler: every message accepted, written to `folder`, never delivered."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        name = f"{utcnow():%Y%m%dT%H%M%S}-{next(_counter):06d}.eml"
        (self.folder / name).write_bytes(envelope.original_content or b"")
        return "250 Message caught (demo: not delivered)"


class MailCatcher:
    """Starts and stops the SMTP server on `port` of 127.0.0.1."""

    def __init__(self, folder: Path, port: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = port
        self._controller = Controller(CatchingHandler(folder), hostname=HOST, port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@dataclass(frozen=True)
class CaughtMail:
    name: str  # the file's name: the mail's id on the page
    received_at: datetime | None
    recipient: str
    subject: str
    text: str


def caught_mail(folder: Path, *, limit: int = 200) -> list[CaughtMail]:
    """The newest mail first."""
    if not folder.is_dir():
        return []
    names = sorted((p.name for p in folder.iterdir() if _NAME.fullmatch(p.name)), reverse=True)
    return [_read(folder / name) for name in names[:limit]]


def one_caught_mail(folder: Path, name: str) -> CaughtMail | None:
    """The mail called `name`, if it is one the catcher wrote (no path from outside is read)."""
    if not _NAME.fullmatch(name) or not (folder / name).is_file():
        return None
    return _read(folder / name)


def _read(path: Path) -> CaughtMail:
    content = path.read_bytes().replace(b"\r\n", b"\n")
    message = message_from_bytes(content, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    date = message.get("Date")
    return CaughtMail(
        name=path.name,
        received_at=parsedate_to_datetime(date) if date else None,
        recipient=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        text=body.get_content() if body is not None else "",
    )
