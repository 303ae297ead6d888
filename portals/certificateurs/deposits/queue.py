"""The deposits' job queue: Huey, on its SQLite storage by default (a file in the instance
folder, no server) or on Redis (`CERTIFICATEURS_QUEUE_URL=redis://…`) when the portal runs on
several machines. The same tasks on both.

The consumer runs inside each portal process (`CERTIFICATEURS_QUEUE_WORKERS` threads, default
1), so that `make run` (the portals under gunicorn) processes deposits with nothing else to
start; several processes consuming one queue is what Huey is for, and a deposit's lease (see
`processing`) keeps two of them off one deposit. A deployment that prefers a separate consumer
sets `CERTIFICATEURS_QUEUE_WORKERS=0` on the web processes and runs
`python -m portals.certificateurs.deposits` — the same consumer, in the foreground.

The embedded consumer leaves signal handling to its host (gunicorn's worker keeps its own) and
is stopped at exit: the deposit being processed is let go at its next batch, so that the next
start takes it up at once rather than after its lease.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer
from sqlalchemy.engine import make_url

from portals.certificateurs.deposits.settings import DepositSettings

log = logging.getLogger("portals.certificateurs.deposits.queue")

POLL_MAX_DELAY = 1.0  # seconds between two looks at an idle SQLite queue (Redis blocks)
STOP_TIMEOUT = 3.0


def make_huey(settings: DepositSettings) -> Huey:
    if settings.uses_redis:
        return RedisHuey(settings.queue_name, url=settings.queue_url, results=False)
    url = make_url(settings.queue_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        raise ValueError(f"unsupported queue URL: {settings.queue_url}")
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(settings.queue_name, filename=url.database, results=False)


class _EmbeddedConsumer(Consumer):
    def _set_signal_handlers(self) -> None:
        """The host process (a gunicorn worker, a test) keeps its own signal handlers."""


class DepositQueue:
    """The Huey instance with the deposits' tasks, and the consumer of this process."""

    def __init__(self, settings: DepositSettings) -> None:
        self.settings = settings
        self.huey = make_huey(settings)
        self.stopping = threading.Event()  # processing lets its deposit go at the next batch
        self._consumer: Consumer | None = None
        self._task: Callable[..., object] | None = None

    def register(
        self,
        *,
        process: Callable[[str], None],
        take_up_stalled: Callable[[], list[tuple[str, datetime | None]]],
    ) -> None:
        """The tasks: `process_deposit(number)`, and every minute a look for deposits a dead
        consumer left (their lease over) that no restart took up."""

        @self.huey.task(name="process_deposit", retries=2, retry_delay=10)
        def process_deposit(number: str) -> None:
            process(number)

        @self.huey.periodic_task(crontab(minute="*"), name="take_up_stalled_deposits")
        def take_up_stalled_deposits() -> None:
            for number, not_before in take_up_stalled():
                self.enqueue(number, not_before=not_before)

        self._task = process_deposit

    def enqueue(self, number: str, *, not_before: datetime | None = None) -> None:
        if self._task is None:
            raise RuntimeError("the deposit tasks are not registered")
        if not_before is None:
            self._task(number)
        else:
            self._task.schedule((number,), eta=not_before)  # type: ignore[attr-defined]

    def pending(self) -> int:
        """Tasks waiting, queued or scheduled (tests, health)."""
        return int(self.huey.pending_count()) + int(self.huey.scheduled_count())

    def start_consumer(self, workers: int) -> None:
        if workers <= 0 or self._consumer is not None:
            return
        self.stopping.clear()
        consumer = _EmbeddedConsumer(
            self.huey,
            workers=workers,
            worker_type="thread",
            periodic=True,
            max_delay=POLL_MAX_DELAY,
            check_worker_health=False,
        )
        consumer.start()
        self._consumer = consumer
        atexit.register(self.stop_consumer)

    def stop_consumer(self, timeout: float = STOP_TIMEOUT) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is None:
            return
        self.stopping.set()
        consumer.stop_flag.set()
        threads = [thread for _, thread in consumer.worker_threads] + [consumer.scheduler]
        for thread in threads:
            thread.join(timeout / len(threads))
        atexit.unregister(self.stop_consumer)
        log.info("deposit consumer stopped")

    @property
    def consuming(self) -> bool:
        return self._consumer is not None
