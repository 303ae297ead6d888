"""Two instances on one PostgreSQL database do the background work once (issue 16): each mail,
logout token and reminder goes out once.

Each instance here is a real `hub worker` process (the same background work `hub run` runs
beside its web servers, `launcher.background`), on a PostgreSQL schema of the test's own, with
mail going to a real SMTP server.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import migrations
from hub.audit.models import AuditEvent
from hub.clock import paris_day_start, to_paris, utcnow
from hub.database import make_engine, make_session_factory
from hub.demo import load_demo
from hub.leases import Lease
from hub.mail.models import MailStatus, OutboxMessage
from hub.oidc.models import LogoutDelivery, OidcClient
from hub.portals.models import Portal
from hub.reminders.models import ReminderSent
from hub.structures.models import Structure
from tests.conftest import LIGHT_HASHING, empty_postgres_schema, postgres_unavailable
from tests.factories import make_account, make_user
from tests.fixtures.hub_run import light_hashing_env
from tests.fixtures.portal_receiver import receiver as receiver  # the fixture, used by name
from tests.fixtures.smtp import smtp_server as smtp_server  # likewise
from tests.hub.test_mail import queue_simple

HUB = Path(sys.executable).parent / "hub"
READY_LINE = "Ctrl-C pour arrêter."
LEASE_SECONDS = 3


@pytest.fixture
def database() -> Iterator[str]:
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with empty_postgres_schema("hubinstances") as url:
        migrations.upgrade(url)
        yield url


@pytest.fixture
def session_factory(database: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database)
    yield make_session_factory(engine)
    engine.dispose()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def start_worker(database: str, smtp_server, tmp_path: Path) -> Iterator[Callable[[], Worker]]:
    started: list[Worker] = []

    def start() -> Worker:
        number = len(started) + 1
        log = tmp_path / f"worker-{number}.log"
        env = os.environ | light_hashing_env() | {
            "HUB_DATABASE_URL": database,
            "HUB_INSTANCE_PATH": str(tmp_path / f"instance-{number}"),
            "HUB_SECRET_KEY": "a-secret-shared-by-both-instances-of-this-test-0123456789",
            "HUB_DEMO": "1",
            "HUB_SMTP_HOST": "127.0.0.1",
            "HUB_SMTP_PORT": str(smtp_server.port),
            "HUB_MAIL_POLL_SECONDS": "0.2",
            "HUB_LEASE_SECONDS": str(LEASE_SECONDS),
            "HUB_REMINDER_HOUR": "0",
            "HUB_REMINDER_CHECK_SECONDS": "1",
        }  # fmt: skip
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(HUB), "worker"], env=env, stdout=output, stderr=subprocess.STDOUT
            )
        worker = Worker(process, log)
        started.append(worker)
        until(lambda: READY_LINE in worker.output, f"worker {number} ready\n{worker.output}")
        return worker

    yield start
    for worker in started:
        worker.stop()


def until(condition: Callable[[], object], what: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.1)


def test_queued_mail_is_delivered_once_in_all_by_two_instances(
    session_factory, start_worker, smtp_server
):
    now = utcnow()
    with session_factory.begin() as session:
        for n in range(40):
            queue_simple(session, now, recipient=f"personne{n}@example.org")

    first, second = start_worker(), start_worker()
    until(lambda: len(smtp_server.messages) >= 40, "40 messages received")
    time.sleep(1.0)  # a double delivery would arrive within a few polls

    delivered = sorted(int(m["X-Hub-Message-Id"]) for m in smtp_server.messages)
    with session_factory() as session:
        ids = sorted(session.scalars(select(OutboxMessage.id)))
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert delivered == ids
    assert statuses == {MailStatus.SENT}
    assert first.process.poll() is None
    assert second.process.poll() is None


def test_each_logout_token_reaches_its_portal_once_with_two_instances(
    session_factory, start_worker, receiver
):
    now = utcnow()
    with session_factory.begin() as session:
        load_demo(session, now=now, passwords=LIGHT_HASHING)
        soltea = session.scalar(select(OidcClient).filter_by(client_id="soltea"))
        soltea.backchannel_logout_uri = receiver.uri
        for n in range(30):
            session.add(
                LogoutDelivery(
                    client=soltea, logout_token=_token(jti=f"logout-{n}", now=now), created_at=now
                )
            )

    start_worker(), start_worker()
    until(lambda: len(receiver.requests) >= 30, "30 logout tokens posted")
    time.sleep(1.0)  # a second post would come within a few polls

    posted = sorted(_claims(r.logout_token)["jti"] for r in receiver.requests)
    assert posted == sorted(f"logout-{n}" for n in range(30))
    with session_factory() as session:
        assert all(d.delivered_at for d in session.scalars(select(LogoutDelivery)))


def test_a_reminder_day_sends_each_reminder_once_with_two_instances(
    session_factory, start_worker, smtp_server
):
    now = utcnow()
    with session_factory.begin() as session:
        load_demo(session, now=now, passwords=LIGHT_HASHING)
        alpha = session.scalar(select(Structure).filter_by(matricule="100001"))
        certificateurs = session.scalar(select(Portal).filter_by(code="certificateurs"))
        for first_name, days in (("Denise", 30), ("Etienne", 7)):
            user = make_user(session, first_name=first_name, last_name="Rappel")
            user.email = f"{first_name.lower()}.rappel@alpha.example"
            make_account(
                session,
                now=now,
                structure=alpha,
                portal=certificateurs,
                user=user,
                expires_in=_noon_in_paris(now, days_ahead=days) - now,
            )

    workers = start_worker(), start_worker()
    until(
        lambda: _count(session_factory, ReminderSent) == 2,
        "both reminders recorded:\n" + "\n".join(w.output for w in workers),
    )
    until(lambda: _pending(session_factory) == 0, "the reminders' mail sent")
    time.sleep(2.5)  # two more passes of each scheduler tick and reminder check

    recipients = sorted(m["To"] for m in smtp_server.messages)
    assert recipients.count("denise.rappel@alpha.example") == 1
    assert recipients.count("etienne.rappel@alpha.example") == 1
    assert _count(session_factory, ReminderSent) == 2


def test_the_daily_purge_runs_on_one_instance(session_factory, start_worker):
    old = utcnow() - timedelta(days=40)
    with session_factory.begin() as session:
        for n in range(5):
            message = queue_simple(session, old, recipient=f"ancien{n}@example.org")
            message.status, message.sent_at = MailStatus.SENT, old

    start_worker(), start_worker()
    until(lambda: _count(session_factory, OutboxMessage) == 0, "the old mail purged")
    time.sleep(2.5)  # two more scheduler ticks of each instance

    with session_factory() as session:
        purges = list(session.scalars(select(AuditEvent).filter_by(action="maintenance.purge")))
    assert len(purges) == 1
    assert purges[0].after["sent_mail"] == 5


def test_an_instance_killed_holding_the_lease_is_replaced_within_seconds(
    session_factory, start_worker
):
    first = start_worker()
    until(lambda: _holder(session_factory) is not None, "a lease holder")
    second = start_worker()
    assert _held_by(session_factory, first)

    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    killed_at = time.monotonic()
    until(
        lambda: _held_by(session_factory, second),
        "the second instance holding the lease",
        limit=LEASE_SECONDS * 3,
    )

    assert time.monotonic() - killed_at < LEASE_SECONDS * 2
    assert "holds the lease" in second.output  # the operator reads who took over


def test_a_stopped_instance_hands_the_lease_over_at_once(session_factory, start_worker):
    first = start_worker()
    until(lambda: _holder(session_factory) is not None, "a lease holder")
    second = start_worker()

    first.stop()

    assert first.process.returncode == 0
    assert _holder(session_factory) is None or _held_by(session_factory, second)
    until(lambda: _held_by(session_factory, second), "handover")


def _noon_in_paris(now: datetime, *, days_ahead: int) -> datetime:
    """Noon, Paris time, `days_ahead` Paris calendar days after `now`'s: that many days left
    whatever the hour the test runs (reminders count Paris days)."""
    return paris_day_start(to_paris(now).date() + timedelta(days=days_ahead)) + timedelta(hours=12)


def _token(*, jti: str, now: datetime) -> str:
    """A stored logout token as the sender reads it (it posts a fresh one as it is)."""
    claims = {"jti": jti, "exp": int((now + timedelta(minutes=2)).timestamp())}
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJSUzI1NiJ9.{payload}.c2lnbmF0dXJl"


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def _holder(session_factory: sessionmaker[Session]) -> str | None:
    with session_factory() as session:
        lease = session.get(Lease, "scheduler")
        return lease.holder if lease is not None and lease.expires_at > utcnow() else None


def _held_by(session_factory: sessionmaker[Session], worker: Worker) -> bool:
    """Whether `worker`'s process holds the lease (`hub.leases.holder_name`: host:pid:random)."""
    return f":{worker.process.pid}:" in (_holder(session_factory) or "")


def _count(session_factory: sessionmaker[Session], model: type) -> int:
    with session_factory() as session:
        return len(list(session.scalars(select(model))))


def _pending(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return len(
            list(session.scalars(select(OutboxMessage).filter_by(status=MailStatus.PENDING)))
        )
