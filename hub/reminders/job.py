"""The daily expiry-reminder run, a job of the scheduler (`hub.scheduler`)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from hub.clock import to_paris
from hub.config import Reminders
from hub.reminders.services import ReminderReport, send_due
from hub.scheduler import Job
from hub.transactions import retrying

log = logging.getLogger("hub.reminders")


def reminder_job(session_factory: sessionmaker[Session], reminders: Reminders) -> Job:
    """Every `check_seconds`, sends the reminders that are due, from `hour` (Europe/Paris) on.

    It keeps no note of whether today's run happened: `send_due` mails each reminder once, so a
    pass after an earlier one (or another instance's, or a cron's) sends nothing and costs one
    query, and a hub started late in the day still sends that day's reminders. Passes before
    `hour` wait, so that reminders arrive in office hours rather than at midnight, when the
    number of days left changes.
    """

    def run(now: datetime) -> None:
        if to_paris(now).hour < reminders.hour:
            return
        report: ReminderReport = retrying(
            session_factory, lambda session: send_due(session, now=now, days=reminders.days)
        )
        if report.reminders:
            log.info(
                "%s expiry reminder(s) and %s digest(s) queued",
                len(report.reminders),
                len(report.digests),
            )

    return Job("reminders", timedelta(seconds=reminders.check_seconds), run)
