"""R13 processing on a real job queue: Huey on SQLite (the default, no server) and on Redis
(the machine's, in a database and under a queue name of the test's own), consumed inside the
portal's process; the deposit tables are migrated by several processes starting together."""

from __future__ import annotations

import io
import subprocess
import sys
import time
import uuid
from dataclasses import replace

import pytest
import redis
from sqlalchemy import inspect

from portals.certificateurs.deposits import receipts, service
from portals.certificateurs.deposits.domain import Deposit
from portals.certificateurs.deposits.extension import current_deposits
from tests.portals.deposits.conftest import ALPHA, EMMA, NOW
from tests.portals.deposits.files import csv_bytes, xml_bytes
from tests.portals.deposits.test_receipts import pdf_text

REDIS_URL = "redis://127.0.0.1:6379/13"


def wait_until_finished(ctx, number: str, timeout: float = 60) -> Deposit:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deposit = service.find(ctx, number, certifiers=[ALPHA.matricule])
        if deposit.finished:
            return deposit
        time.sleep(0.1)
    raise AssertionError(f"deposit {number} not processed in {timeout} s")


def receive(ctx, content: bytes, filename: str = "certifications.csv") -> Deposit:
    return service.receive(
        ctx, stream=io.BytesIO(content), filename=filename, certifier=ALPHA, depositor=ALPHA,
        person=EMMA, now=NOW,
    )  # fmt: skip


@pytest.fixture
def redis_settings(settings):
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {error}")
    name = f"certtest-{uuid.uuid4().hex[:8]}"
    yield replace(settings, queue_url=REDIS_URL, queue_name=name)
    keys = client.keys(f"*{name}*")
    if keys:
        client.delete(*keys)
    client.close()


def check_processed(ctx, deposit: Deposit) -> None:
    done = wait_until_finished(ctx, deposit.number)
    assert (done.state, done.state_label, done.progress_percent) == ("processed", "Traité", 100)
    assert (done.accepted, done.rejected, done.records_done) == (180, 20, 200)
    assert len(service.rejections(ctx, done)) == 20
    assert "Enregistrements rejetés 20" in pdf_text(receipts.processing_receipt(ctx, done))


def test_r13_deposits_are_processed_on_huey_sqlite(open_ctx, settings):
    ctx = open_ctx(settings, consume=True)
    assert settings.queue_url.startswith("sqlite:///")

    check_processed(ctx, receive(ctx, csv_bytes(200, reject_every=10)))

    assert (settings.deposits_path.parent / "queue.sqlite3").exists()


def test_r13_deposits_are_processed_on_huey_redis(open_ctx, redis_settings):
    ctx = open_ctx(redis_settings, consume=True)

    check_processed(ctx, receive(ctx, csv_bytes(200, reject_every=10)))


def test_r13_an_xml_deposit_is_processed_with_its_progress_estimated(open_ctx, settings):
    ctx = open_ctx(settings, consume=True)

    done = wait_until_finished(ctx, receive(ctx, xml_bytes(50), "depot.xml").number)

    assert (done.state, done.accepted, done.records_total) == ("processed", 50, 50)


def test_r13_a_file_refused_midway_counts_for_nothing(open_ctx, settings):
    ctx = open_ctx(settings, consume=True)
    content = xml_bytes(3000, reject_every=7).replace(b"</depot>", b"<enregistrement>")

    done = wait_until_finished(ctx, receive(ctx, content, "depot.xml").number)

    assert (done.state, done.accepted, done.rejected) == ("rejected", 0, 0)
    assert "mal formé" in done.error
    assert service.rejections(ctx, done) == []


def test_r13_deposits_left_unfinished_are_taken_up_at_start(open_ctx, settings):
    without_consumer = open_ctx(settings)
    deposit = receive(without_consumer, csv_bytes(30))
    without_consumer.queue.huey.flush()  # the task is lost, as when a consumer died with it

    restarted = open_ctx(settings, consume=True)

    assert wait_until_finished(restarted, deposit.number).accepted == 30


def test_r13_the_certificateurs_app_processes_deposits_itself(make_app):
    app = make_app("certificateurs")
    with app.app_context():
        ctx = current_deposits()
        assert ctx.queue.consuming
        try:
            done = wait_until_finished(ctx, receive(ctx, csv_bytes(20)).number)
        finally:
            ctx.queue.stop_consumer()
    assert done.state == "processed"


def test_r13_workers_starting_together_migrate_once(deposits_database_url):
    script = (
        "import sys\n"
        "from portals.kit.database import make_engine\n"
        "from portals.certificateurs import migrations\n"
        "migrations.upgrade(make_engine(sys.argv[1]))\n"
    )
    workers = [
        subprocess.Popen([sys.executable, "-c", script, deposits_database_url]) for _ in range(4)
    ]
    assert [worker.wait(60) for worker in workers] == [0, 0, 0, 0]

    from portals.kit.database import make_engine

    engine = make_engine(deposits_database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"deposits", "deposit_rejections", "certificateurs_alembic_version"} <= tables
