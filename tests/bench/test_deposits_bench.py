"""Certificateurs' deposits at scale (issue 15's targets), on SQLite, through the pages of a
Certificateurs app in this process (Flask's test client: the portal's own work, no network):
a CSV of 100,000 records received — posted, and its page with the accusé de réception shown —
in ≤ 2 s and processed in ≤ 20 s by the portal's own consumer, the process's RSS growing by
≤ 50 MB; « Historique des dépôts » of a structure with 10,000 deposits (among 30,000), p95 ≤
50 ms per page."""

from __future__ import annotations

import io
import statistics
import threading
import time
from datetime import timedelta

import psutil
import pytest
from sqlalchemy import insert

from portals import certificateurs
from portals.certificateurs.deposits import service
from portals.certificateurs.deposits.extension import EXTENSION
from portals.certificateurs.deposits.models import deposits
from tests.portals.conftest import account, claims, portal_config, sign_in
from tests.portals.deposits.conftest import NOW
from tests.portals.deposits.files import csv_bytes

UNUSED_ISSUER = "http://127.0.0.1:9"  # the claims stay fresh: the hub is never asked


@pytest.fixture
def portal(tmp_path):
    """Certificateurs with Emma signed in (Alpha, `data_exchange`)."""
    app = certificateurs.create_app(
        portal_config(certificateurs.IDENTITY, tmp_path, UNUSED_ISSUER), TESTING=True
    )
    client = app.test_client()
    sign_in(app, client, claims(account(), sub="sub-emma"))
    yield app, client
    app.extensions[EXTENSION].queue.stop_consumer()


def csrf(page_text: str) -> str:
    return page_text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def test_a_100000_record_csv_is_received_and_processed_in_bounded_time_and_memory(portal):
    app, client = portal
    ctx = app.extensions[EXTENSION]
    content = csv_bytes(100_000, reject_every=10)
    token = csrf(client.get("/depots/nouveau").text)
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
    posted = client.post(
        "/depots/nouveau",
        data={"csrf_token": token, "fichier": (io.BytesIO(content), "gros.csv")},
        content_type="multipart/form-data",
    )
    assert posted.status_code == 303, posted.text[:2000]
    page = client.get(posted.headers["Location"])
    received = time.perf_counter() - started
    assert "Télécharger l'accusé de réception" in page.text
    number = posted.headers["Location"].rsplit("/", 1)[1].split("?")[0]
    while not (done := service.find(ctx, number, certifiers=["100001"])).finished:
        time.sleep(0.05)
    processed = time.perf_counter() - started - received
    stop.set()
    sampler.join()
    growth_mb = (peak - baseline) / 2**20
    print(f"\nreceived {received:.2f} s, processed {processed:.2f} s, RSS +{growth_mb:.1f} MB")

    assert (done.accepted, done.rejected) == (90_000, 10_000)
    assert received <= 2.0
    assert processed <= 20.0
    assert growth_mb <= 50


def test_the_history_page_of_10000_deposits_answers_in_50_ms_p95(portal):
    app, client = portal
    engine = app.extensions[EXTENSION].engine
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
        query = {"page": page % 25 + 1, **({"etat": "processed"} if page % 2 else {})}
        started = time.perf_counter()
        response = client.get("/depots", query_string=query)
        samples.append((time.perf_counter() - started) * 1000)
        assert "10000 dépôts" in response.text
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(f"\nhistory p50 {statistics.median(samples):.1f} ms, p95 {p95:.1f} ms")

    assert p95 <= 50
