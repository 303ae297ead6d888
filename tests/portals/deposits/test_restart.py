"""R13 « stop the portal in the middle of a large file, start it again, and the deposit
finishes once, with one accusé de traitement »: the real portal under gunicorn (as `make run`
starts it), killed with SIGKILL mid-file, then started again."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from pathlib import Path

from sqlalchemy import func, select

from portals.certificateurs.deposits import receipts, service
from portals.certificateurs.deposits.context import open_deposits
from portals.certificateurs.deposits.models import deposit_rejections, deposits
from portals.certificateurs.deposits.settings import DepositSettings
from portals.kit.database import make_engine
from portals.kit.serving import DEMO_PORTALS, portal_server
from tests.fixtures.ports import free_port
from tests.portals.deposits.conftest import ALPHA, EMMA, NOW
from tests.portals.deposits.files import csv_bytes
from tests.portals.deposits.test_receipts import pdf_text

ROOT = Path(__file__).resolve().parents[3]
RECORDS = 100_000
REJECT_EVERY = 100


def start_portal(tmp_path: Path, port: int) -> subprocess.Popen:
    server = portal_server(
        DEMO_PORTALS[1], issuer="http://127.0.0.1:9", instance_root=tmp_path, port=port
    )
    env = os.environ | server.env | {"CERTIFICATEURS_DEPOSIT_LEASE_SECONDS": "2"}
    return subprocess.Popen(
        server.argv,
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill takes the workers too
    )


def large_deposit_waiting(tmp_path: Path):
    """A deposit of `RECORDS` records received in the portal's instance folder (a rejection
    every `REJECT_EVERY`), not processed yet; with a reading of its current state."""
    instance = tmp_path / "certificateurs"
    engine = make_engine(f"sqlite:///{instance / 'certificateurs.sqlite3'}")
    ctx = open_deposits(engine, DepositSettings.from_env(instance, environ={}), consume=False)
    deposit = service.receive(
        ctx, stream=io.BytesIO(csv_bytes(RECORDS, reject_every=REJECT_EVERY)),
        filename="gros.csv", certifier=ALPHA, depositor=ALPHA, person=EMMA, now=NOW,
    )  # fmt: skip

    def current():
        return service.find(ctx, deposit.number, certifiers=[ALPHA.matricule])

    return instance, engine, ctx, current


def rejection_rows(engine) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(deposit_rejections))


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout} s")


def test_r13_a_portal_killed_mid_file_finishes_the_deposit_once_after_a_restart(tmp_path):
    instance, engine, ctx, current = large_deposit_waiting(tmp_path)

    port = free_port()
    portal = start_portal(tmp_path, port)
    try:
        midway = wait_for(
            lambda: (d := current()).state == "processing" and d.records_done >= 20_000 and d,
            60,
            "processing started",
        )
        os.killpg(portal.pid, signal.SIGKILL)
        portal.wait(10)
    finally:
        if portal.poll() is None:
            os.killpg(portal.pid, signal.SIGKILL)
    killed = current()
    assert killed.state == "processing"
    assert 0 < killed.records_done < RECORDS
    assert 0 < (killed.progress_percent or 0) < 100
    assert midway.records_done <= killed.records_done
    assert 0 < rejection_rows(engine) < RECORDS // REJECT_EVERY

    portal = start_portal(tmp_path, port)
    try:
        done = wait_for(lambda: (d := current()).finished and d, 90, "processing finished")
    finally:
        os.killpg(portal.pid, signal.SIGTERM)
        portal.wait(15)

    assert done.state == "processed"
    assert (done.accepted, done.rejected) == (
        RECORDS - RECORDS // REJECT_EVERY,
        RECORDS // REJECT_EVERY,
    )
    assert rejection_rows(engine) == RECORDS // REJECT_EVERY
    with engine.connect() as connection:
        attempts = connection.scalar(select(deposits.c.attempts))
    assert attempts == 2
    text = pdf_text(receipts.processing_receipt(ctx, done))
    rows = [line for line in text.splitlines() if line.startswith("ligne ")]
    assert len(rows) == RECORDS // REJECT_EVERY
    assert len(set(rows)) == len(rows)
    kept = list((instance / "deposits" / "receipts").iterdir())
    assert [path.name for path in kept] == [f"{done.number}-traitement.pdf"]
    engine.dispose()


def test_r13_a_portal_stopped_mid_file_lets_its_deposit_go_for_the_next_start(tmp_path):
    _, engine, _, current = large_deposit_waiting(tmp_path)

    portal = start_portal(tmp_path, free_port())
    try:
        wait_for(lambda: current().records_done >= 20_000, 60, "processing started")
        os.killpg(portal.pid, signal.SIGTERM)
        assert portal.wait(15) == 0
    finally:
        if portal.poll() is None:
            os.killpg(portal.pid, signal.SIGKILL)

    with engine.connect() as connection:
        state, lease_until = connection.execute(
            select(deposits.c.state, deposits.c.lease_until)
        ).one()
    assert current().records_done < RECORDS
    assert (state, lease_until) == ("processing", None)
    engine.dispose()
