"""Certificateurs' deposits at scale (issue 15's targets), at the service level, on SQLite:
a CSV of 100,000 records received in ≤ 2 s and processed in ≤ 20 s by the portal process's own
consumer, its RSS growing by ≤ 50 MB; the history of a structure with 10,000 deposits, p95 ≤
50 ms per page (the page itself adds its template: measured by the pages' own benchmark)."""

from __future__ import annotations

import io
import statistics
import threading
import time
from datetime import timedelta

import psutil
from sqlalchemy import insert

from portals.certificateurs.deposits import service
from portals.certificateurs.deposits.context import open_deposits
from portals.certificateurs.deposits.models import deposits
from portals.certificateurs.deposits.settings import DepositSettings
from portals.kit.database import make_engine
from tests.portals.deposits.conftest import ALPHA, EMMA, NOW
from tests.portals.deposits.files import csv_bytes


def test_a_100000_record_csv_is_received_and_processed_in_bounded_time_and_memory(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'certificateurs.sqlite3'}")
    ctx = open_deposits(engine, DepositSettings.from_env(tmp_path, environ={}), consume=True)
    content = csv_bytes(100_000, reject_every=10)
    process = psutil.Process()
    baseline = process.memory_info().rss
    peak = baseline
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(0.02):
            peak = max(peak, process.memory_info().rss)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    deposit = service.receive(
        ctx, stream=io.BytesIO(content), filename="gros.csv", certifier=ALPHA, depositor=ALPHA,
        person=EMMA, now=NOW,
    )  # fmt: skip
    received = time.perf_counter() - started
    while not (done := service.find(ctx, deposit.number, certifiers=["100001"])).finished:
        time.sleep(0.05)
    processed = time.perf_counter() - started - received
    stop.set()
    sampler.join()
    ctx.queue.stop_consumer()
    growth_mb = (peak - baseline) / 2**20
    print(f"\nreceived {received:.2f} s, processed {processed:.2f} s, RSS +{growth_mb:.1f} MB")

    assert (done.accepted, done.rejected) == (90_000, 10_000)
    assert received <= 2.0
    assert processed <= 20.0
    assert growth_mb <= 50


def test_the_history_of_10000_deposits_answers_in_50_ms_p95(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'certificateurs.sqlite3'}")
    ctx = open_deposits(engine, DepositSettings.from_env(tmp_path, environ={}), consume=False)
    rows = [
        {
            "number": f"D-2026-{index:06d}", "certifier_matricule": matricule,
            "certifier_name": "Organisme", "depositor_matricule": matricule,
            "depositor_name": "Organisme", "person_sub": "sub", "person_name": "Emma Leroy",
            "filename": "f.csv", "size": 100, "sha256": f"{index:064x}", "format": "CSV",
            "state": "processed", "records_done": 10, "records_total": 10, "accepted": 10,
            "rejected": 0, "received_at": NOW - timedelta(minutes=index), "attempts": 1,
        }
        for index in range(1, 30_001)
        for matricule in ["100001" if index <= 10_000 else f"2{index % 50:05d}"]
    ]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(deposits), rows)
    samples = []
    for page in range(1, 101):
        started = time.perf_counter()
        result = service.history(
            ctx, certifiers=["100001"], state="processed" if page % 2 else None,
            page=page % 25 + 1, per_page=20,
        )  # fmt: skip
        samples.append((time.perf_counter() - started) * 1000)
        assert result.total == 10_000
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(f"\nhistory p50 {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms")

    assert p95 <= 50
