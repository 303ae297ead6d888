"""Sending the due expiry reminders (R3): once per account, threshold and expiry date.

One run (`send_due`) mails each account holder whose account reached a threshold, saying where,
until when and whom to ask, and gives each administrator of those accounts' structures on the
portal (R2, delegated ones included, R9) one digest listing them, with a link to « Gérer les
comptes existants » where they renew them (R4). The reminders are recorded, the mails queued
(outbox) and the run audited in the caller's transaction: the mails leave if and only if the
run is committed, and a run that fails leaves everything for the next one.

Runs may overlap (a cron beside `hub run`, two hub instances): each reminder is claimed with an
INSERT … ON CONFLICT DO NOTHING on `reminders_sent` before it is mailed, so a run that meets a
reminder claimed by another leaves it out of its mails. On PostgreSQL it waits at that claim
for the other run to end; on SQLite a run waits for the other before it reads anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from itertools import groupby

from sqlalchemy.orm import Session

from hub.accounts import policies
from hub.accounts.policies import Administrator
from hub.actors import Actor, System
from hub.audit.services import record
from hub.config import Reminders
from hub.database import queue_behind_writers, upsert_insert
from hub.portals.models import Portal
from hub.reminders import mails
from hub.reminders.due import DueReminder, due_reminders
from hub.reminders.models import ReminderSent
from hub.reminders.reports import Digest, DigestSection, Reminder, ReminderReport
from hub.structures.models import Structure
from hub.users.models import User

REMINDERS = System("reminders")


def send_due(
    session: Session,
    *,
    now: datetime,
    days: Sequence[int] = Reminders.days,
    dry_run: bool = False,
    by: Actor = REMINDERS,
) -> ReminderReport:
    """Mails the reminders due at `now` (see `hub.reminders.due`) and the administrators'
    digests, in the caller's transaction (no commit). `dry_run` reports what would be sent and
    writes nothing. A run that sends something is audited once (`reminders.sent`, with counts).
    """
    if not dry_run:
        queue_behind_writers(session, ReminderSent.__table__)
    due = due_reminders(session, now=now, days=days)
    if not dry_run:
        due = _claim(session, due, now=now)
    reminders: list[Reminder] = []
    digests: dict[int, tuple[User, list[DigestSection]]] = {}
    for (structure, portal), group in _by_structure_and_portal(due):
        admins = policies.administrators(session, structure, portal, now=now)
        told = [_reminder(item, admins) for item in group]
        reminders += told
        _add_sections(digests, admins, structure, portal, told)
        if not dry_run:
            for item in group:
                mails.remind_holder(session, item, admins, now=now)
    report = ReminderReport(
        tuple(reminders),
        tuple(_digest(user, sections) for user, sections in digests.values()),
        dry_run,
    )
    if dry_run or not reminders:
        return report
    for user, sections in digests.values():
        mails.send_digest(session, user, sections, now=now)
    _audit(session, report, by=by, now=now)
    return report


def _audit(session: Session, report: ReminderReport, *, by: Actor, now: datetime) -> None:
    counts = report.by_threshold()
    after = {
        "reminders": len(report.reminders),
        "digests": len(report.digests),
        "by_threshold": {str(days): counts[days] for days in sorted(counts, reverse=True)},
    }
    record(session, actor=by, action="reminders.sent", now=now, after=after)


def _claim(session: Session, due: Sequence[DueReminder], *, now: datetime) -> list[DueReminder]:
    """Records the due reminders; returns those this run recorded (see the module docstring)."""
    if not due:
        return []
    rows = [
        {
            "account_id": item.account.id,
            "threshold_days": item.threshold,
            "expires_at": item.account.expires_at,
            "sent_at": now,
        }
        for item in due
    ]
    table = ReminderSent.__table__
    statement = (
        upsert_insert(session, table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["account_id", "threshold_days", "expires_at"])
        .returning(table.c.account_id, table.c.threshold_days)
    )
    claimed = {(row.account_id, row.threshold_days) for row in session.execute(statement)}
    return [item for item in due if (item.account.id, item.threshold) in claimed]


def _by_structure_and_portal(
    due: Sequence[DueReminder],
) -> Iterator[tuple[tuple[Structure, Portal], list[DueReminder]]]:
    """`due` comes sorted by structure and portal: consecutive items share them."""
    for (_ids, pair), items in groupby(due, key=_pair):
        yield pair, list(items)


def _pair(item: DueReminder) -> tuple[tuple[int, int], tuple[Structure, Portal]]:
    account = item.account
    return (account.structure_id, account.portal_id), (account.structure, account.portal)


def _reminder(item: DueReminder, admins: Sequence[Administrator]) -> Reminder:
    account, user = item.account, item.account.user
    return Reminder(
        account_id=account.id,
        threshold=item.threshold,
        days_left=item.days_left,
        recipient=user.email,
        username=user.username,
        holder=user.full_name,
        role=account.role,
        portal=account.portal.name,
        portal_code=account.portal.code,
        structure=account.structure.name,
        matricule=account.structure.matricule,
        expires_at=account.expires_at,
        admins=tuple(a.user.full_name for a in admins if a.user.id != account.user_id),
    )


def _add_sections(
    digests: dict[int, tuple[User, list[DigestSection]]],
    admins: Sequence[Administrator],
    structure: Structure,
    portal: Portal,
    told: Sequence[Reminder],
) -> None:
    """Adds the accounts of (structure, portal) to the digest of each of its administrators,
    but an administrator's own account: that one is in their own reminder."""
    for admin in admins:
        others = [reminder for reminder in told if reminder.username != admin.user.username]
        if others:
            section = _section(admin, structure, portal, others)
            digests.setdefault(admin.user.id, (admin.user, []))[1].append(section)


def _section(
    admin: Administrator, structure: Structure, portal: Portal, told: Sequence[Reminder]
) -> DigestSection:
    return DigestSection(
        portal=portal.name,
        portal_code=portal.code,
        structure=structure.name,
        matricule=structure.matricule,
        via=admin.via.name if admin.via is not None else None,
        manage_url=mails.manage_url(admin, structure, portal),
        reminders=tuple(told),
    )


def _digest(user: User, sections: Sequence[DigestSection]) -> Digest:
    return Digest(
        recipient=user.email, username=user.username, name=user.full_name, sections=tuple(sections)
    )
