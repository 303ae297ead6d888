"""What a reminder run reports: who was (or, in a dry run, would be) mailed about which account.

Flat, detached values rather than accounts: the command line prints them after the transaction
has ended, and the digest template reads them as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.accounts.models import Role


@dataclass(frozen=True)
class Reminder:
    """A reminder to an account holder; `admins` are the people they may ask to renew it."""

    account_id: int
    threshold: int
    days_left: int
    recipient: str
    username: str
    holder: str
    role: Role
    portal: str
    portal_code: str
    structure: str
    matricule: str
    expires_at: datetime
    admins: tuple[str, ...]


@dataclass(frozen=True)
class DigestSection:
    """The reminded accounts of one structure on one portal, for one of its administrators."""

    portal: str
    portal_code: str
    structure: str
    matricule: str
    via: str | None  # the portal the administrator's right comes from (R9), None if direct
    manage_url: str
    reminders: tuple[Reminder, ...]


@dataclass(frozen=True)
class Digest:
    """One administrator's mail of a run: every structure and portal they manage that has
    accounts of others reaching a threshold."""

    recipient: str
    username: str
    name: str
    sections: tuple[DigestSection, ...]

    @property
    def total(self) -> int:
        return sum(len(section.reminders) for section in self.sections)


@dataclass(frozen=True)
class ReminderReport:
    reminders: tuple[Reminder, ...] = ()
    digests: tuple[Digest, ...] = ()
    dry_run: bool = False

    def by_threshold(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for reminder in self.reminders:
            counts[reminder.threshold] = counts.get(reminder.threshold, 0) + 1
        return counts
