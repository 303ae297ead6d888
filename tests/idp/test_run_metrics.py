"""`/metrics` under `hub run`, as in production: the web workers are processes of their own,
each counting in the instance's multiprocess folder, and a scrape adds up all of them, workers
that died included. With `HUB_LOG_FORMAT=json` the app's request lines replace the web
server's text access log."""

from __future__ import annotations

import json
import signal
import time

import psutil
import requests

from tests.fixtures.hub_run import START_LIMIT, start_hub_run
from tests.idp.metrics_reading import BEARER, TOKEN, samples, value

REQUESTS_PER_ROUND = 10


def healthz_count(base: str) -> float:
    response = requests.get(f"{base}/metrics", headers=BEARER, timeout=5)
    assert response.status_code == 200, response.text
    name = "hub_http_requests_total"
    return value(samples(response.text), name, endpoint="health.healthz", status="200")


def workers_of(run) -> set[int]:
    [master] = run.servers()
    return {worker.pid for worker in master.children()}


def replaced(run, dead: set[int], base: str) -> set[int]:
    """The two new workers the web server starts in place of `dead`, once they serve."""
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        current = workers_of(run)
        if len(current) == 2 and not current & dead and serves(base):
            return current
        time.sleep(0.1)
    raise AssertionError(f"the workers were not replaced:\n{run.output}")


def serves(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_a_scrape_sums_the_counts_of_every_worker_dead_or_alive(tmp_path):
    env = {"HUB_METRICS_TOKEN": TOKEN, "HUB_LOG_FORMAT": "json"}
    run = start_hub_run("--no-portals", "--workers", "2", tmp_path=tmp_path, env=env)
    try:
        run.wait_until_ready()
        base = f"http://127.0.0.1:{run.port}"
        before = healthz_count(base)
        first = workers_of(run)
        for _ in range(REQUESTS_PER_ROUND):
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200
        for pid in first:  # their counts must outlive them
            psutil.Process(pid).send_signal(signal.SIGKILL)
        replaced(run, first, base)
        for _ in range(REQUESTS_PER_ROUND):
            assert requests.get(f"{base}/healthz", timeout=5).status_code == 200

        assert healthz_count(base) - before == 2 * REQUESTS_PER_ROUND
        folder = tmp_path / "instance" / "metrics" / str(run.port)
        assert any(folder.glob("counter_*.db"))
    finally:
        run.stop()

    lines = [json.loads(line) for line in run.output.splitlines() if line.startswith("{")]
    healthz = [line for line in lines if line.get("path") == "/healthz"]
    assert len(healthz) >= 2 * REQUESTS_PER_ROUND
    assert all(line["request_id"] and line["status"] == 200 for line in healthz)
    assert '"GET /healthz HTTP/1.1"' not in run.output  # the web server's access log is off
