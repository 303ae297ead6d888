"""Writing mail to the outbox, in the transaction of the change that causes it.

A mail is rendered when it is queued, not when it is sent: what a person reads describes the
change as it was committed, even if the account changes again before the sender runs. Nothing
here talks to a mail server; `hub.mail.sender` does, later, from the outbox table.

This is infrastructure: each area says what its mails say, in its own `mails.py`
(`hub.accounts.mails`, `hub.registration.mails`…), and queues them here with a template of
`hub/mail/templates` and its context; the layout they share greets the person (`greeting`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from hub.actors import Actor
from hub.audit.services import record
from hub.clock import paris_date
from hub.errors import NotFailed, UnknownMessage
from hub.mail.models import MailStatus, OutboxMessage

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _environment() -> Environment:
    """HTML is autoescaped (names and structure names come from people); StrictUndefined makes
    a context missing a variable fail at queue time, in tests, rather than mail a blank."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["date"] = paris_date
    return environment


environment = _environment()


class Addressee(Protocol):
    """Whom a mail greets: a person the hub knows, or one it knows only by what they typed (a
    registration's applicant, an invitation's new person)."""

    @property
    def civility(self) -> Enum | None: ...

    @property
    def first_name(self) -> str | None: ...

    @property
    def last_name(self) -> str | None: ...


class Person(Addressee, Protocol):
    """Someone the hub knows, at the address it knows them by (a `User`)."""

    @property
    def email(self) -> str: ...


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render(template: str, context: Mapping[str, Any]) -> RenderedMail:
    """The three parts of `template`; the subject is the first line of
    `<template>.subject.txt`, so that a stray newline can never inject a header."""
    subject_source = environment.get_template(f"{template}.subject.txt").render(context)
    subject = subject_source.strip().splitlines()[0].strip()
    context = {**context, "subject": subject}
    return RenderedMail(
        subject=subject,
        text=environment.get_template(f"{template}.txt").render(context),
        html=environment.get_template(f"{template}.html").render(context),
    )


def message_row(
    *, recipient: str, template: str, context: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """The columns of one rendered message, for `queue` and for `queue_rows`."""
    rendered = render(template, context)
    return {
        "created_at": now,
        "recipient": recipient,
        "subject": rendered.subject,
        "text_body": rendered.text,
        "html_body": rendered.html,
        "template": template,
        "status": MailStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
    }


def queue(
    session: Session,
    *,
    recipient: str,
    template: str,
    context: Mapping[str, Any],
    now: datetime,
) -> OutboxMessage:
    """Adds a rendered message to the caller's transaction (no commit): the mail leaves if and
    only if the change that causes it is committed."""
    message = OutboxMessage(
        **message_row(recipient=recipient, template=template, context=context, now=now)
    )
    session.add(message)
    return message


def queue_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Adds many messages (`message_row`) in one statement, like `queue` for each."""
    if rows:
        session.execute(insert(OutboxMessage), list(rows))


def greeting(person: Addressee) -> dict[str, str | None]:
    """What the layout of every mail needs to greet the person (« Bonjour Mme Lefèvre, »)."""
    return {
        "civility": person.civility.value if person.civility is not None else None,
        "first_name": person.first_name,
        "last_name": person.last_name,
    }


def queue_to(
    session: Session,
    person: Person,
    *,
    template: str,
    context: Mapping[str, Any],
    now: datetime,
) -> OutboxMessage:
    """`queue` to a person the hub knows: at their address, greeted by their name."""
    return queue(
        session,
        recipient=person.email,
        template=template,
        context={**greeting(person), **context},
        now=now,
    )


STATUS_LABELS = {
    MailStatus.PENDING: "en attente",
    MailStatus.SENT: "envoyé",
    MailStatus.FAILED: "en échec",
}


def retry(session: Session, message_id: int, *, by: Actor, now: datetime) -> OutboxMessage:
    """Gives a failed message a fresh set of attempts, once an operator has fixed the cause
    (a mistyped address, a relay that refused us for days)."""
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if message is None:
        raise UnknownMessage(message_id)
    if message.status is not MailStatus.FAILED:
        raise NotFailed(message.id, STATUS_LABELS[message.status])
    before = {"status": message.status.value, "attempts": message.attempts}
    message.status = MailStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = now
    after = {"status": message.status.value, "attempts": message.attempts}
    record(
        session, actor=by, action="mail.retry", now=now, target=message, before=before, after=after
    )
    return message


def latest(
    session: Session, *, status: MailStatus | None = None, limit: int = 20
) -> list[OutboxMessage]:
    """The most recent messages first: what an operator checks when someone says « I got no
    mail »."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(session.scalars(query))


@dataclass(frozen=True)
class Backlog:
    """What waits in the outbox: how many messages, and since when the oldest."""

    pending: int
    oldest_created_at: datetime | None


def backlog(session: Session) -> Backlog:
    """The pending messages, counted in one query: what an operator watches to see the sender
    falling behind (`/metrics`)."""
    count, oldest = session.execute(
        select(func.count(OutboxMessage.id), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == MailStatus.PENDING
        )
    ).one()
    return Backlog(count, oldest)
