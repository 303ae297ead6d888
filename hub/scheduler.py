"""The periodic jobs (expiry reminders, purge), run by one instance at a time.

Every instance runs a `Scheduler`; the one holding the `scheduler` lease (`hub.leases`) runs the
jobs, the others only try to take the lease at each tick. The holder renews the lease at every
tick, a third of its life, so it keeps it through a slow pass or two; an instance killed while
holding it is replaced by another within one lease life.

The jobs are safe to run twice (a reminder is claimed once in the database, a purge deletes
what is past its life): the lease saves the work and keeps the log readable, it does not make
them correct. So a job's last run is kept in memory only, and a new holder runs each job at
once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from hub import leases
from hub.clock import utcnow
from hub.polling import PollingWorker

log = logging.getLogger("hub.scheduler")

LEASE_NAME = "scheduler"
RETRY_FAILED_JOB = timedelta(minutes=1)


@dataclass(frozen=True)
class Job:
    """`run(now)` every `every`, from the moment the scheduler holds the lease."""

    name: str
    every: timedelta
    run: Callable[[datetime], None]


class Scheduler(PollingWorker):
    name = "scheduler"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        jobs: Sequence[Job],
        *,
        lease_seconds: float = 15.0,
        clock: Callable[[], datetime] = utcnow,
        holder: str | None = None,
    ) -> None:
        super().__init__(lease_seconds / 3, self.run_pass)
        self.session_factory = session_factory
        self.jobs = tuple(jobs)
        self.lease = timedelta(seconds=lease_seconds)
        self.clock = clock
        self.holder = holder or leases.holder_name()
        self.holding = False
        self._next_runs: dict[str, datetime] = {}

    def run_pass(self, stop: threading.Event | None = None) -> bool:
        """Renews (or takes) the lease, then runs the jobs that are due; never asks for another
        pass at once."""
        held = leases.hold(
            self.session_factory, LEASE_NAME, self.holder, now=self.clock(), ttl=self.lease
        )
        if held != self.holding:
            log.info("%s %s the lease", self.holder, "holds" if held else "lost")
            self.holding = held
            self._next_runs.clear()  # a new holder runs every job at once
        if not held:
            return False
        for job in self.jobs:
            if stop is not None and stop.is_set():
                break
            now = self.clock()
            if self._next_runs.get(job.name, now) <= now:
                self._next_runs[job.name] = now + self._run_job(job, now)
        return False

    def _run_job(self, job: Job, now: datetime) -> timedelta:
        """Runs `job`; how long until its next run (sooner after a failure)."""
        try:
            job.run(now)
        except Exception:
            log.exception("job %s failed; next try in %s", job.name, RETRY_FAILED_JOB)
            return min(RETRY_FAILED_JOB, job.every)
        return job.every

    def stop(self, timeout: float = 15.0) -> bool:
        """Stops the ticks and gives the lease up, so that another instance takes over at its
        next tick rather than after the lease expires."""
        stopped = super().stop(timeout)
        if stopped and self.holding:
            try:
                leases.release(self.session_factory, LEASE_NAME, self.holder)
            except Exception:  # the database is gone: the lease expires on its own
                log.warning("could not release the %s lease; it expires by itself", LEASE_NAME)
            self.holding = False
        return stopped
