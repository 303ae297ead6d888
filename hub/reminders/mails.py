"""What the expiry reminders say: the holder's mail and the administrators' digest.

Both are queued in the outbox, in the transaction of the run that records them; the templates
are `hub/mail/templates/expiry_reminder.*` and `expiry_digest.*`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.accounts import policies
from hub.accounts.mails import account_context
from hub.accounts.models import Account
from hub.accounts.policies import Administrator
from hub.mail import outbox
from hub.portals.links import manage_accounts_url
from hub.portals.models import Portal
from hub.reminders.due import DueReminder
from hub.reminders.reports import DigestSection
from hub.structures.models import Structure
from hub.users.models import User

HOLDER_TEMPLATE = "expiry_reminder"
DIGEST_TEMPLATE = "expiry_digest"


def manage_url(admin: Administrator, structure: Structure, portal: Portal) -> str:
    """On the portal the right comes from: a delegated admin manages from there (R9)."""
    return manage_accounts_url(admin.via or portal, portal=portal, structure=structure)


def _rights_lapsing_with(session: Session, account: Account, *, now: datetime) -> list[str]:
    """R9: the portals where the holder administers the structure only through this account,
    a right that ends with it."""
    if not account.is_admin:
        return []
    return [
        grant.portal.name
        for grant in policies.administered(session, account.user, now=now)
        if grant.via is not None
        and grant.via.id == account.portal_id
        and grant.structure.id == account.structure_id
    ]


def remind_holder(
    session: Session, item: DueReminder, admins: Sequence[Administrator], *, now: datetime
) -> None:
    """Where, until when, and whom to ask: the holder's structure's administrators on the
    portal, or, for an administrator, where to renew it themselves."""
    account = item.account
    own = next((admin for admin in admins if admin.user.id == account.user_id), None)
    context: dict[str, Any] = {
        **account_context(account),
        "days_left": item.days_left,
        "admins": [a.user.full_name for a in admins if a.user.id != account.user_id],
        "manage_url": manage_url(own, account.structure, account.portal) if own else None,
        "lapsing_portals": _rights_lapsing_with(session, account, now=now),
    }
    outbox.queue(
        session, recipient=account.user.email, template=HOLDER_TEMPLATE, context=context, now=now
    )


def send_digest(
    session: Session, user: User, sections: Sequence[DigestSection], *, now: datetime
) -> None:
    context = {
        "sections": sections,
        "total": sum(len(section.reminders) for section in sections),
    }
    outbox.queue_to(session, user, template=DIGEST_TEMPLATE, context=context, now=now)
