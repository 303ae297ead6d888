"""The background work of an instance: mail, back-channel logouts, and the periodic jobs.

`hub run` runs it beside the web servers, `hub worker` alone. Any number of instances may run it
on one database: mail and logout deliveries are claimed row by row, the periodic jobs by the
holder of the scheduler's lease (`hub.scheduler`), so each thing is done once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy.engine import Engine

from hub.config import Settings, Smtp
from hub.database import make_session_factory
from hub.mail.sender import SmtpSender
from hub.mail.worker import MailWorker
from hub.polling import PollingWorker
from hub.purge import PurgeReport, purge
from hub.reminders.job import reminder_job
from hub.scheduler import Job, Scheduler
from idp.logs import JSON
from idp.oidc.backchannel import LogoutWorker

PURGE_EVERY = timedelta(days=1)  # from the holder's start, then daily: a small, steady purge

log = logging.getLogger("hub.purge")


def log_purge(report: PurgeReport) -> None:
    if report.total:
        counts = ", ".join(f"{kind} {n}" for kind, n in report.counts.items() if n)
        log.info("purged %s row(s): %s", report.total, counts)


def show_background_log(settings: Settings) -> None:
    """What the background work does (a lease taken, mail sent, a purge) on standard error, in
    text mode; JSON mode has its own handler already (`idp.logs`)."""
    if settings.log_format != JSON:
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s [%(process)d] %(levelname)s %(name)s: %(message)s",
        )


def background_workers(
    settings: Settings, engine: Engine, *, smtp: Smtp | None = None
) -> list[PollingWorker]:
    """The workers to start, on `engine`; `smtp` replaces the configured server (the demo's
    catcher)."""
    session_factory = make_session_factory(engine)
    jobs = [
        reminder_job(session_factory, settings.reminders),
        Job("purge", PURGE_EVERY, lambda now: log_purge(purge(session_factory, now=now))),
    ]
    return [
        MailWorker(session_factory, SmtpSender(smtp or settings.smtp), settings.mail_poll_seconds),
        LogoutWorker(session_factory),
        Scheduler(session_factory, jobs, lease_seconds=settings.lease_seconds),
    ]
