"""The daily expiry-reminder run that `hub run` starts next to the web app."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from hub.clock import to_paris, utcnow
from hub.config import Reminders
from hub.polling import PollingWorker
from hub.reminders.services import ReminderReport, send_due
from hub.transactions import retrying

log = logging.getLogger("hub.reminders")


class ReminderWorker(PollingWorker):
    """Every `check_seconds`, sends the reminders that are due, from `hour` (Europe/Paris) on.

    It keeps no note of whether today's run happened: `send_due` mails each reminder once, so a
    pass after an earlier one (or another instance's, or a cron's) sends nothing and costs one
    query, and a hub started late in the day still sends that day's reminders. Passes before
    `hour` wait, so that reminders arrive in office hours rather than at midnight, when the
    number of days left changes.
    """

    name = "reminder worker"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        reminders: Reminders,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__(reminders.check_seconds, self.run_pass)
        self.session_factory = session_factory
        self.reminders = reminders
        self.clock = clock

    def run_pass(self, stop: threading.Event | None = None) -> bool:
        """One look; never asks for another at once (a run sends everything that is due)."""
        now = self.clock()
        if to_paris(now).hour < self.reminders.hour:
            return False
        report: ReminderReport = retrying(
            self.session_factory,
            lambda session: send_due(session, now=now, days=self.reminders.days),
            clock=self.clock,
        )
        if report.reminders:
            log.info(
                "%s expiry reminder(s) and %s digest(s) queued",
                len(report.reminders),
                len(report.digests),
            )
        return False
