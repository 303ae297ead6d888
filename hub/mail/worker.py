"""The background mail sender that `hub run` starts next to the web app."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session, sessionmaker

from hub.mail.sender import SmtpSender, deliver_pending
from hub.polling import PollingWorker


class MailWorker(PollingWorker):
    """Delivers due mail every `poll_seconds`, until stopped."""

    name = "mail worker"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        sender: SmtpSender,
        poll_seconds: float,
        *,
        batch: int = 100,
    ) -> None:
        super().__init__(poll_seconds, self._deliver)
        self.session_factory = session_factory
        self.sender = sender
        self.batch = batch

    def _deliver(self, stop: threading.Event) -> bool:
        """True when the batch was full and the server answered: more mail is waiting."""
        report = deliver_pending(self.session_factory, self.sender, batch=self.batch, stop=stop)
        return report.total >= self.batch and report.unreachable is None
