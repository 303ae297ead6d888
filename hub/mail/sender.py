"""Delivering the outbox over SMTP, at least once, without ever dropping a message.

A message is claimed in a short transaction of its own: its attempt is counted and its next
attempt is pushed a lease away *before* the server is contacted, so that a sender which dies
mid-send leaves a message that another sender picks up once the lease is over, and two senders
never hold the same message (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the single writer lock on
SQLite). The outcome is committed right after the server answered, message by message.

Failures are sorted by who can fix them. A refusal of one message (5xx on its recipient or its
data) will never succeed: the message fails at once. Anything about the server or our
configuration (unreachable, TLS, credentials, our sender address refused, 4xx) is retried with
an exponential back-off, and stops the batch so that a server that is down is not hammered.
"""

from __future__ import annotations

import logging
import random
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from threading import Event
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from hub.clock import utcnow
from hub.config import Smtp
from hub.mail.models import MailStatus, OutboxMessage
from hub.transactions import waiting_for_database

log = logging.getLogger("hub.mail")

FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=15)  # longer than any send can take with the SMTP timeouts
# How long an outcome waits for a database gone away once the server answered: well within the
# lease, so that no other sender takes the message meanwhile and sends it again.
RECORD_WAIT = LEASE / 2
JITTER = 0.1  # up to 10 % later, so that messages failed together do not retry together


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 30 s, doubling, at most 1 h."""
    delay = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)
    return delay * (1 + random.uniform(0, JITTER))  # noqa: S311 - spreading retries, not a secret


class SmtpSender:
    """Turns outbox rows into MIME messages and opens authenticated, encrypted connections as
    the configuration says."""

    def __init__(self, smtp: Smtp) -> None:
        self.smtp = smtp
        self.domain = parseaddr(smtp.sender)[1].rpartition("@")[2] or "localhost"

    def build(self, message: OutboxMessage, *, now: datetime) -> EmailMessage:
        """Quoted-printable parts, so that accents survive relays without 8BITMIME. The
        Message-ID is derived from the row, so a message sent twice after a crash can be
        recognised as one by the recipient's mail software."""
        email = EmailMessage()
        email["From"] = self.smtp.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Date"] = format_datetime(now)
        email["Message-ID"] = (
            f"<outbox.{message.id}.{message.created_at:%Y%m%d%H%M%S%f}@{self.domain}>"
        )
        email["X-Hub-Message-Id"] = str(message.id)
        email.set_content(message.text_body, cte="quoted-printable")
        if message.html_body:
            email.add_alternative(message.html_body, subtype="html", cte="quoted-printable")
        return email

    def connect(self) -> smtplib.SMTP:
        """A connection ready to send: TLS verified against `ca_file` (or the system's
        authorities), STARTTLS required when configured, logged in when credentials are set."""
        smtp = self.smtp
        context = ssl.create_default_context(cafile=smtp.ca_file)
        client: smtplib.SMTP
        if smtp.ssl:
            client = smtplib.SMTP_SSL(
                smtp.host,
                smtp.port,
                local_hostname=self.domain,
                timeout=smtp.timeout,
                context=context,
            )
        else:
            client = smtplib.SMTP(
                smtp.host, smtp.port, local_hostname=self.domain, timeout=smtp.timeout
            )
        try:
            if smtp.starttls and not smtp.ssl:
                client.starttls(context=context)
            if smtp.username:
                client.login(smtp.username, smtp.password or "")
        except BaseException:
            client.close()
            raise
        return client


@dataclass
class DeliveryReport:
    """What a delivery run did; `unreachable` says why it stopped early, if it did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    unreachable: str | None = None

    @property
    def total(self) -> int:
        return self.sent + self.retried + self.failed


class _Refused(Exception):
    """The server refused this message for good."""


class _Unavailable(Exception):
    """The server could not take this message now; `connection_lost` ends the batch."""

    def __init__(self, reason: str, *, connection_lost: bool) -> None:
        super().__init__(reason)
        self.connection_lost = connection_lost


def _reply(code: int, text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {text}".strip()


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "; ".join(
            f"{address} : {_reply(code, text)}"
            for address, (code, text) in error.recipients.items()
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return _reply(error.smtp_code, error.smtp_error)
    return f"{type(error).__name__}: {error}"


def _classify(error: Exception) -> Exception:
    """Maps an error raised while sending one message to `_Refused` or `_Unavailable`."""
    reason = _describe(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in error.recipients.values()]
        if all(400 <= code < 500 for code in codes):
            return _Unavailable(reason, connection_lost=False)
        return _Refused(reason)
    if isinstance(error, smtplib.SMTPSenderRefused):
        # Our own address refused: a configuration matter, the same for every message.
        return _Unavailable(reason, connection_lost=True)
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return _Refused(reason)  # e.g. a non-ASCII address and no SMTPUTF8 on the server
    if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500:
        return _Refused(reason)
    if isinstance(error, smtplib.SMTPResponseException) and error.smtp_code != 421:
        return _Unavailable(reason, connection_lost=False)
    return _Unavailable(reason, connection_lost=True)  # disconnected, timeout, 421, …


class _Connection:
    """One SMTP connection for a whole batch, opened when the first message needs it."""

    def __init__(self, sender: SmtpSender) -> None:
        self.sender = sender
        self.client: smtplib.SMTP | None = None

    def send(self, email: EmailMessage) -> None:
        if self.client is None:
            try:
                self.client = self.sender.connect()
            # ValueError: smtplib cannot send a non-ASCII password, a configuration matter.
            except (OSError, smtplib.SMTPException, ValueError) as error:
                raise _Unavailable(_describe(error), connection_lost=True) from error
        try:
            self.client.send_message(email)
        except (OSError, smtplib.SMTPException) as error:
            raise _classify(error) from error

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.quit()
        except (OSError, smtplib.SMTPException):
            self.client.close()
        self.client = None


def _claim(
    session_factory: sessionmaker[Session], *, now: datetime, after: int, due_only: bool
) -> OutboxMessage | None:
    """Takes the next pending message with an id above `after`, counting the attempt and
    leasing it, in one committed statement."""
    candidate = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == MailStatus.PENDING, OutboxMessage.id > after)
        .order_by(OutboxMessage.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if due_only:
        candidate = candidate.where(OutboxMessage.next_attempt_at <= now)
    claim = (
        update(OutboxMessage)
        .where(OutboxMessage.id == candidate.scalar_subquery())
        .values(attempts=OutboxMessage.attempts + 1, next_attempt_at=now + LEASE)
        .returning(OutboxMessage)
        .execution_options(synchronize_session=False)
    )
    with session_factory.begin() as session:
        message = session.scalars(claim).one_or_none()
        if message is not None:
            session.expunge(message)  # keeps its loaded values whatever the factory's expiry
        return message


def _outcome(
    message: OutboxMessage, error: Exception | None, *, now: datetime, max_attempts: int
) -> dict[str, Any]:
    """The columns to write once the server answered about `message` (its attempt counted)."""
    if error is None:
        return {"status": MailStatus.SENT, "sent_at": now, "last_error": None}
    if isinstance(error, _Refused) or message.attempts >= max_attempts:
        return {"status": MailStatus.FAILED, "last_error": str(error)}
    return {
        "status": MailStatus.PENDING,
        "next_attempt_at": now + backoff(message.attempts),
        "last_error": str(error),
    }


def _record(
    session_factory: sessionmaker[Session],
    message: OutboxMessage,
    *,
    stop: Event | None = None,
    **outcome: Any,
) -> None:
    """One UPDATE, no read before it: SQLite then never has a stale snapshot to upgrade. It
    waits for a database gone away (`RECORD_WAIT`): a sent message recorded as sent is never
    sent again."""

    def write() -> None:
        with session_factory.begin() as session:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message.id).values(**outcome)
            )

    waiting_for_database(
        write, seconds=RECORD_WAIT.total_seconds(), stop=stop, what=f"mail {message.id}'s outcome"
    )


def _deliver_one(
    connection: _Connection, message: OutboxMessage, *, now: datetime
) -> Exception | None:
    """Sends `message`; returns why it did not leave, or None once the server accepted it."""
    try:
        email = connection.sender.build(message, now=now)
    except Exception as error:  # a row the email package cannot express will never send
        return _Refused(f"message invalide : {type(error).__name__}: {error}")
    try:
        connection.send(email)
    except (_Refused, _Unavailable) as error:
        return error
    return None


def deliver_pending(
    session_factory: sessionmaker[Session],
    sender: SmtpSender,
    *,
    now: datetime | None = None,
    batch: int = 100,
    due_only: bool = True,
    stop: Event | None = None,
) -> DeliveryReport:
    """Sends up to `batch` due messages over one connection (all pending ones, back-off or
    not, when `due_only` is false); `stop` interrupts between two messages."""
    clock: Callable[[], datetime] = (lambda: now) if now is not None else utcnow
    report = DeliveryReport()
    connection = _Connection(sender)
    after = 0
    try:
        while report.total < batch and not (stop and stop.is_set()):
            message = _claim(session_factory, now=clock(), after=after, due_only=due_only)
            if message is None:
                break
            after = message.id
            error = _deliver_one(connection, message, now=clock())
            outcome = _outcome(message, error, now=clock(), max_attempts=sender.smtp.max_attempts)
            _record(session_factory, message, stop=stop, **outcome)
            _count(report, message, outcome["status"], error)
            if isinstance(error, _Unavailable) and error.connection_lost:
                report.unreachable = str(error)
                break
    finally:
        connection.close()
    return report


def _count(
    report: DeliveryReport, message: OutboxMessage, status: MailStatus, error: Exception | None
) -> None:
    if status is MailStatus.SENT:
        report.sent += 1
        log.info("mail %s sent to %s", message.id, message.recipient)
    elif status is MailStatus.FAILED:
        report.failed += 1
        log.error("mail %s to %s failed for good: %s", message.id, message.recipient, error)
    else:
        report.retried += 1
        log.warning("mail %s to %s postponed: %s", message.id, message.recipient, error)
