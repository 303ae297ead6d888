"""The background work of an instance: mail, back-channel logouts, and the periodic jobs.

`hub run` runs it beside the web servers, `hub worker` alone. Any number of instances may run it
on one database: mail and logout deliveries are claimed row by row, the periodic jobs by the
holder of the scheduler's lease (`hub.scheduler`), so each thing is done once.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from hub.config import Settings, Smtp
from hub.database import make_session_factory
from hub.mail.sender import SmtpSender
from hub.mail.worker import MailWorker
from hub.polling import PollingWorker
from hub.reminders.job import reminder_job
from hub.scheduler import Job, Scheduler
from idp.oidc.backchannel import LogoutWorker

PURGE_EVERY = timedelta(days=1)


def background_workers(
    settings: Settings, engine: Engine, *, smtp: Smtp | None = None
) -> list[PollingWorker]:
    """The workers to start, on `engine`; `smtp` replaces the configured server (the demo's
    catcher)."""
    session_factory = make_session_factory(engine)
    jobs: list[Job] = [reminder_job(session_factory, settings.reminders)]
    return [
        MailWorker(session_factory, SmtpSender(smtp or settings.smtp), settings.mail_poll_seconds),
        LogoutWorker(session_factory),
        Scheduler(session_factory, jobs, lease_seconds=settings.lease_seconds),
    ]
