"""« Prévenir mon administrateur » (issue 6 §4): a person refused at the door for an expired
account (R5) asks the administrators of that structure on that portal to renew it (R4).

One mail per administrator, direct and delegated ones alike (R9: for a delegated admin the link
opens their own portal's administration on this portal's accounts). At most one request per
person and portal a day, so the button cannot be used to flood anyone; the person learns only
whether the request went out, never who received it (R10 already names the first admin to
whoever registers, nothing more is told here).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts import mails, policies
from hub.accounts.models import Account
from hub.audit.models import AuditEvent
from hub.audit.services import describe, record
from hub.portals.models import Portal
from hub.users.models import User

ACTION = "account.renewal_requested"
ONE_REQUEST_EVERY = timedelta(hours=24)


@dataclass(frozen=True)
class Outcome:
    """What the person is told: sent (to somebody), already asked recently, or nobody to ask."""

    sent: bool
    already_asked: bool = False


def request_renewal(session: Session, user: User, portal: Portal, *, now: datetime) -> Outcome:
    """Mails the administrators of every structure where `user`'s account on `portal` has
    expired. Audited; the caller commits."""
    if _asked_since(session, user, portal, now - ONE_REQUEST_EVERY):
        return Outcome(sent=False, already_asked=True)
    expired = session.scalars(
        select(Account).where(
            Account.user_id == user.id, Account.portal_id == portal.id, Account.expires_at <= now
        )
    ).all()
    recipients = 0
    for account in expired:
        for admin in policies.administrators(session, account.structure, portal, now=now):
            mails.renewal_request(session, admin, account, now=now)
            recipients += 1
    record(
        session,
        actor=user,
        action=ACTION,
        now=now,
        portal=portal,
        target=user,
        after={"structures": [a.structure.matricule for a in expired], "recipients": recipients},
    )
    return Outcome(sent=recipients > 0)


def _asked_since(session: Session, user: User, portal: Portal, since: datetime) -> bool:
    target_type, target_id, _ = describe(user)
    return (
        session.scalar(
            select(AuditEvent.id)
            .where(
                AuditEvent.action == ACTION,
                AuditEvent.target_type == target_type,
                AuditEvent.target_id == target_id,
                AuditEvent.portal == portal.code,
                AuditEvent.occurred_at > since,
            )
            .limit(1)
        )
        is not None
    )
