"""A person changes their e-mail address (issue 6 §2; R6, R14): the new address is written down
and mailed a validation link (signed, expiring after `LINK_LIFETIME`, single-use); the old
address is told, so that a change the person did not ask for does not go unnoticed. The
address changes only when the link is followed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import validation
from hub.actors import ANONYMOUS
from hub.audit.services import record
from hub.database import lock_row, queue_behind_writers
from hub.email_changes import mails
from hub.email_changes.models import EmailChange
from hub.errors import AlreadyExists, InvalidField
from hub.portals.models import Portal
from hub.single_use_links import LinkProblem, SingleUseLinks, new_nonce
from hub.users.models import User

LINK_LIFETIME = timedelta(hours=24)
LINK_PATH = "/email/confirm/"
REQUESTS_PER_DAY = 5  # each request mails an address the person typed: not a mail cannon
FIELD = "email"
TAKEN = "Cette adresse e-mail est déjà utilisée par une autre personne."
TAKEN_PROBLEM = "taken"  # the new address was given to someone else meanwhile
TOO_MANY = (
    "Vous avez demandé trop de changements d'adresse e-mail aujourd'hui. Réessayez demain, ou "
    "suivez le lien du dernier courriel de confirmation reçu."
)
LINK_MESSAGES = {
    LinkProblem.INVALID: (
        "Ce lien de confirmation n'est pas valable : il est incomplet ou a été modifié. Copiez "
        "l'adresse complète depuis le courriel reçu."
    ),
    LinkProblem.EXPIRED: (
        "Ce lien de confirmation a expiré ou a été remplacé : votre adresse e-mail n'a pas "
        "changé. Refaites la demande depuis « Modifier mes coordonnées »."
    ),
    LinkProblem.USED: "Ce lien a déjà servi : votre nouvelle adresse e-mail est enregistrée.",
    TAKEN_PROBLEM: f"{TAKEN} Votre adresse e-mail n'a pas changé.",
}


def links(secret_key: str, public_url: str) -> SingleUseLinks:
    return SingleUseLinks(secret_key, public_url, LINK_PATH, "hub.users.email_change")


def request_change(
    session: Session,
    user: User,
    new_email: str,
    *,
    portal: Portal | None,
    now: datetime,
    links: SingleUseLinks,
) -> EmailChange | None:
    """Mails a validation link to `new_email` and a notice to the current address, or does
    nothing when the address is the current one (None). Audited; the caller commits."""
    new_email = validation.clean_email(new_email, field=FIELD)
    if new_email == user.email:
        return None
    if session.scalar(select(User.id).where(User.email == new_email, User.id != user.id)):
        raise InvalidField(FIELD, TAKEN)
    asked_today = session.scalar(
        select(func.count(EmailChange.id)).where(
            EmailChange.user_id == user.id, EmailChange.created_at > now - timedelta(days=1)
        )
    )
    if (asked_today or 0) >= REQUESTS_PER_DAY:
        raise InvalidField(FIELD, TOO_MANY)
    change = EmailChange(
        nonce=new_nonce(),
        user=user,
        portal=portal,
        old_email=user.email,
        new_email=new_email,
        created_at=now,
        expires_at=now + LINK_LIFETIME,
    )
    session.add(change)
    session.flush()
    url = links.url(change.id, change.nonce, expires_at=change.expires_at)
    mails.validation_and_notice(session, change, url=url, now=now)
    record(
        session,
        actor=user,
        action="user.email_change_request",
        now=now,
        target=user,
        before={"email": user.email},
        after={"email": new_email},
    )
    return change


@dataclass(frozen=True)
class Opened:
    """What a confirmation link opens: a pending change, or the problem with it (a
    `LinkProblem`, or `TAKEN_PROBLEM` once confirmation is attempted)."""

    change: EmailChange | None
    problem: str | None = None


def open_link(session: Session, links: SingleUseLinks, token: str, *, now: datetime) -> Opened:
    found = links.find(session, EmailChange, token)
    if found is None:
        return Opened(None, LinkProblem.INVALID)
    reference, change = found
    if change.confirmed_at is not None:
        return Opened(change, LinkProblem.USED)
    # A link from before another change of address is stale, like an expired one.
    stale = change.user.email != change.old_email
    if stale or reference.is_expired(now) or change.expires_at <= now:
        return Opened(change, LinkProblem.EXPIRED)
    return Opened(change)


def confirm(session: Session, links: SingleUseLinks, token: str, *, now: datetime) -> Opened:
    """Applies the change the link names, once. Call it first in its transaction: writers are
    queued first, then the person's row is locked and the link read again, so that a link
    followed twice at the same moment changes the address once. Audited, refusals included;
    the caller commits."""
    queue_behind_writers(session, User.__table__)
    opened = open_link(session, links, token, now=now)
    if opened.change is not None and opened.problem is None:
        lock_row(session, User.__table__, opened.change.user_id)
        opened = open_link(session, links, token, now=now)
    change = opened.change
    if change is not None and opened.problem is None and _taken(session, change):
        opened = Opened(change, TAKEN_PROBLEM)
    if change is None or opened.problem is not None:
        _refused(session, opened, now=now)
        return opened
    user = change.user
    before = {"email": user.email}
    user.email = change.new_email
    user.email_verified = True
    change.confirmed_at = now
    try:
        session.flush()
    except IntegrityError as error:  # given to a new person at this very moment
        raise AlreadyExists(TAKEN) from error
    record(
        session,
        actor=user,
        action="user.email_change",
        now=now,
        target=user,
        before=before,
        after={"email": user.email},
    )
    return opened


def _taken(session: Session, change: EmailChange) -> bool:
    query = select(User.id).where(User.email == change.new_email, User.id != change.user_id)
    return session.scalar(query) is not None


def _refused(session: Session, opened: Opened, *, now: datetime) -> None:
    change = opened.change
    user = change.user if change is not None else None
    record(
        session,
        actor=user if user is not None else ANONYMOUS,
        action="user.email_change_refused",
        now=now,
        target=user,
        after={"reason": opened.problem},
    )
