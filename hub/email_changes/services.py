"""A person changes their e-mail address (issue 6 §2; R6, R14): the new address is written down
and mailed a validation link (signed, expiring after `LINK_LIFETIME`, single-use); the old
address is told, so that a change the person did not ask for does not go unnoticed. The
address changes only when the link is followed.
"""

from __future__ import annotations

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
from hub.errors import AlreadyExists, InvalidField, LinkRefused
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
}
TAKEN_SINCE = f"{TAKEN} Votre adresse e-mail n'a pas changé."


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


def open_link(session: Session, links: SingleUseLinks, token: str, *, now: datetime) -> EmailChange:
    """The pending change a confirmation link names; `LinkRefused` when it opens nothing,
    carrying the change when one was found."""
    found = links.find(session, EmailChange, token)
    if found is None:
        raise _refused(LinkProblem.INVALID)
    reference, change = found
    if change.confirmed_at is not None:
        raise _refused(LinkProblem.USED, change)
    # A link from before another change of address is stale, like an expired one.
    stale = change.user.email != change.old_email
    if stale or reference.is_expired(now) or change.expires_at <= now:
        raise _refused(LinkProblem.EXPIRED, change)
    return change


def _refused(problem: LinkProblem, change: EmailChange | None = None) -> LinkRefused[EmailChange]:
    return LinkRefused(problem, LINK_MESSAGES[problem], request=change)


def confirm(session: Session, links: SingleUseLinks, token: str, *, now: datetime) -> EmailChange:
    """Applies the change the link names, once. Call it first in its transaction: writers are
    queued first, then the person's row is locked and the link read again, so that a link
    followed twice at the same moment changes the address once. A refusal (`LinkRefused`, or
    `AlreadyExists` when the new address was given to someone else meanwhile) is audited and
    raised as recorded, so that the caller's unit of work keeps its audit event; the caller
    commits."""
    queue_behind_writers(session, User.__table__)
    try:
        change = open_link(session, links, token, now=now)
        lock_row(session, User.__table__, change.user_id)
        change = open_link(session, links, token, now=now)
    except LinkRefused as refused:
        _refused_audit(session, refused.request, refused.problem.value, now=now)
        refused.as_recorded()
        raise
    if _taken(session, change):
        _refused_audit(session, change, TAKEN_PROBLEM, now=now)
        raise AlreadyExists(TAKEN_SINCE).as_recorded()
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
    return change


def _taken(session: Session, change: EmailChange) -> bool:
    query = select(User.id).where(User.email == change.new_email, User.id != change.user_id)
    return session.scalar(query) is not None


def _refused_audit(
    session: Session, change: EmailChange | None, reason: str, *, now: datetime
) -> None:
    user = change.user if change is not None else None
    record(
        session,
        actor=user if user is not None else ANONYMOUS,
        action="user.email_change_refused",
        now=now,
        target=user,
        after={"reason": reason},
    )
