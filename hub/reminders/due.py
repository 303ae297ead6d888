"""Which expiry reminders are due: accounts still valid (R3) whose expiry date is at most a
threshold of days away on the Paris calendar, not yet reminded at that threshold for that expiry.

Only the nearest threshold reached counts: after days without a run, an account 5 days from
expiry gets its 7-day reminder, and no late 30-day one before it. The whole choice is made in
one query, so a pass that finds nothing to send (`hub run` looks every hour) costs one indexed
range scan.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, exists, select
from sqlalchemy.orm import Session, contains_eager

from hub.accounts.models import Account
from hub.accounts.reports import days_left
from hub.clock import paris_day_start, to_paris
from hub.portals.models import Portal
from hub.reminders.models import ReminderSent
from hub.structures.models import Structure
from hub.users.models import User


@dataclass(frozen=True)
class DueReminder:
    account: Account
    threshold: int  # the nearest threshold reached, in days
    days_left: int  # Paris calendar days until the expiry date (`hub.accounts.reports`)


def threshold_windows(now: datetime, days: Collection[int]) -> list[tuple[int, datetime]]:
    """(threshold, end) pairs, nearest threshold first: an account valid at `now` has at most
    `threshold` days left exactly when it expires before `end`, the Paris midnight that ends
    the day `threshold` days from today."""
    today = to_paris(now).date()
    return [
        (threshold, paris_day_start(today + timedelta(days=threshold + 1)))
        for threshold in sorted(set(days))
    ]


def due_reminders(session: Session, *, now: datetime, days: Collection[int]) -> list[DueReminder]:
    """The reminders to send at `now`, grouped by structure and portal (sorted by name), soonest
    expiry first within a group. Expired accounts (`expires_at <= now`) get none."""
    windows = threshold_windows(now, days)
    if not windows:
        return []
    nearest = case(*((Account.expires_at < end, threshold) for threshold, end in windows))
    already_sent = exists().where(
        ReminderSent.account_id == Account.id,
        ReminderSent.expires_at == Account.expires_at,
        ReminderSent.threshold_days == nearest,
    )
    query = (
        select(Account, nearest)
        .join(Account.structure)
        .join(Account.portal)
        .join(Account.user)
        .options(
            contains_eager(Account.structure),
            contains_eager(Account.portal),
            contains_eager(Account.user),
        )
        .where(Account.expires_at > now, Account.expires_at < windows[-1][1], ~already_sent)
        .order_by(
            Structure.name,
            Structure.matricule,
            Portal.name,
            Account.expires_at,
            User.last_name,
            User.first_name,
            User.username,
        )
    )
    return [
        DueReminder(account, threshold, days_left(account.expires_at, now=now))
        for account, threshold in session.execute(query)
    ]
