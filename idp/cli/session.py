"""What every `hub` sub-command needs: the settings, a transaction, an audit context."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app
from sqlalchemy.orm import Session

from hub.actors import System
from hub.audit.services import audit_context
from hub.config import Settings
from hub.transactions import unit_of_work
from idp.extensions import db
from idp.web.settings import settings_of


def settings() -> Settings:
    return settings_of(current_app)


@contextmanager
def transaction(command: str) -> Iterator[tuple[Session, System]]:
    """One transaction for a command, audited as ``cli:<command>`` with its own request id."""
    with audit_context(request_id=f"cli-{uuid.uuid4().hex[:12]}"), unit_of_work(db.session):
        yield db.session, System(f"cli:{command}")
