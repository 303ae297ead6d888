"""`hub purge [--dry-run]` as an operator sees it in a terminal."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.audit.models import AuditEvent
from hub.throttle import LoginThrottle
from idp import create_app
from idp.cli import cli
from idp.extensions import db


@pytest.fixture
def hub(settings, session_factory, now, time_machine):
    """`hub("purge")` runs `hub purge` at the tests' `now` and returns Click's result."""
    time_machine.move_to(now, tick=False)
    app = create_app(settings, TESTING=True)
    runner = app.test_cli_runner()
    yield lambda *args: runner.invoke(cli, list(args))
    with app.app_context():
        db.engine.dispose()


def test_purge_prints_its_counts_in_french_and_audits_them(hub, session, now):
    for n in range(3):
        session.add(
            LoginThrottle(
                key=f"user:ancien{n}", failures=2, window_started_at=now - timedelta(days=3)
            )
        )
    session.add(LoginThrottle(key="user:recent", failures=2, window_started_at=now))
    session.commit()

    dry = hub("purge", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines()[0].split() == ["données", "à", "supprimer"]
    assert any(
        line.startswith("compteurs d'échecs de connexion") and line.endswith(" 3")
        for line in dry.output.splitlines()
    )
    assert dry.output.rstrip().endswith(
        "Simulation (--dry-run) : 3 ligne(s) seraient supprimée(s) ; rien n'a été supprimé."
    )
    assert session.scalar(select(func.count()).select_from(LoginThrottle)) == 4

    done = hub("purge")
    assert done.exit_code == 0, done.output
    assert done.output.rstrip().endswith(
        "3 ligne(s) supprimée(s) ; le journal d'audit est conservé."
    )
    session.rollback()
    assert session.scalars(select(LoginThrottle.key)).all() == ["user:recent"]
    (event,) = session.scalars(select(AuditEvent))
    assert (event.action, event.actor) == ("maintenance.purge", "cli:purge")
    assert event.after["throttles"] == 3
    assert event.request_id.startswith("cli-")

    again = hub("purge")
    assert again.output.rstrip().endswith("Rien à purger.")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 1
