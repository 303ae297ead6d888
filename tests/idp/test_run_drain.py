"""`hub run` behind a load balancer (issue 16): on SIGTERM it first says it is not ready, while
still serving, for `HUB_DRAIN_SECONDS`, then stops its servers gracefully and exits."""

from __future__ import annotations

import signal
import time

import requests

from tests.fixtures.hub_run import start_hub_run


def status(url: str) -> int | None:
    try:
        return requests.get(url, timeout=2).status_code
    except requests.ConnectionError:
        return None


def test_sigterm_drains_then_stops(tmp_path):
    run = start_hub_run(
        "--no-portals", "--workers", "1", tmp_path=tmp_path, env={"HUB_DRAIN_SECONDS": "2"}
    )
    try:
        run.wait_until_ready()
        base = f"http://127.0.0.1:{run.port}"
        assert status(f"{base}/readyz") == 200

        run.process.send_signal(signal.SIGTERM)
        time.sleep(0.8)
        draining = requests.get(f"{base}/readyz", timeout=2)
        still_serving = status(f"{base}/.well-known/openid-configuration")
        code = run.process.wait(30)
    finally:
        run.stop()

    assert draining.status_code == 503
    assert draining.json()["status"] == "draining"
    assert still_serving == 200
    assert code == 0
    assert status(f"{base}/healthz") is None  # stopped: nothing listens any more
    assert "Plus de nouvelles requêtes dans 2 s…" in run.output
