"""Background workers that `hub run` starts next to the web app (mail, back-channel logout).

They poll the database rather than being told about new work, because the change that queues
work may be committed by another process or another instance sharing the database.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from hub.database import is_disconnect

log = logging.getLogger("hub.workers")


class PollingWorker:
    """Runs `run_once(stop)` every `poll_seconds` in a daemon thread, at once again while it
    reports more work waiting (True), until stopped; `stop` is set on shutdown.

    A failing pass (database unreachable, a bug) is logged and the next poll tries again: the
    worker must outlive any one error, since no one watches it die. A database gone away
    (`hub.database.is_disconnect`) pauses the worker: one line when it goes, one when it comes
    back, not a traceback at every poll. Nothing is lost meanwhile: the work waits in the
    database, and what a pass claimed and could not finish is taken again once its lease ends.
    """

    name = "worker"

    def __init__(self, poll_seconds: float, run_once: Callable[[threading.Event], bool]) -> None:
        self.poll_seconds = poll_seconds
        self.run_once = run_once
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.is_running:
            raise RuntimeError(f"the {self.name} is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name=f"hub-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> bool:
        """Wakes the worker and waits for it; False if a pass still runs after `timeout` (a
        delivery in progress is not cut, it ends within its own network timeout)."""
        self._stopping.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        log.info("%s started, polling every %s s", self.name, self.poll_seconds)
        paused = False
        while not self._stopping.is_set():
            try:
                more = self.run_once(self._stopping)
            except Exception as error:
                more = False
                if not is_disconnect(error):
                    log.exception("%s pass failed; retrying in %s s", self.name, self.poll_seconds)
                elif not paused:
                    log.warning(
                        "%s paused: the database is unavailable (%s); trying again every %s s",
                        self.name,
                        type(error).__name__,
                        self.poll_seconds,
                    )
                    paused = True
            else:
                if paused:
                    log.info("%s resumed: the database is back", self.name)
                    paused = False
            if not more:
                self._stopping.wait(self.poll_seconds)
        log.info("%s stopped", self.name)
