"""The background sender that `hub run` starts next to the web app.

It polls the outbox rather than being told about new mail, because the change that queues a
message may be committed by another process or another instance sharing the database.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from hub.mail.sender import SmtpSender, deliver_pending

log = logging.getLogger("hub.mail")


class MailWorker:
    """Delivers due mail every `poll_seconds` in a daemon thread, until stopped.

    A failing run (database unreachable, a bug) is logged and the next poll tries again: the
    worker must outlive any one error, since no one watches it die.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sender: SmtpSender,
        poll_seconds: float,
        *,
        batch: int = 100,
    ) -> None:
        self.session_factory = session_factory
        self.sender = sender
        self.poll_seconds = poll_seconds
        self.batch = batch
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("the mail worker is already running")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="hub-mail-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Wakes the worker and waits for it; False if it is still busy after `timeout` (a send
        in progress is not cut, it ends within the SMTP timeout)."""
        self._stopping.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        log.info("mail worker started, polling every %s s", self.poll_seconds)
        while not self._stopping.is_set():
            if not self._run_once():
                self._stopping.wait(self.poll_seconds)
        log.info("mail worker stopped")

    def _run_once(self) -> bool:
        """One delivery run; True when the batch was full, so more mail is probably waiting."""
        try:
            report = deliver_pending(
                self.session_factory, self.sender, batch=self.batch, stop=self._stopping
            )
        except Exception:
            log.exception("mail delivery run failed; retrying in %s s", self.poll_seconds)
            return False
        return report.total >= self.batch and report.unreachable is None
