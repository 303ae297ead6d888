"""`hub run`: one command migrates, loads the demo, serves the hub, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
import requests

from tests.fixtures.hub_run import (
    HUB,
    START_LIMIT,
    light_hashing_env,
    start_hub_run,
)
from tests.fixtures.ports import port_is_closed


@pytest.fixture
def hub_run(tmp_path, database_url, session_factory):
    """`hub run --demo` on a free port (`session_factory` empties the shared test database
    afterwards); yields the running command, stopped by Ctrl-C at the end."""
    run = start_hub_run(
        "--demo",
        "--no-portals",
        "--workers",
        "1",
        tmp_path=tmp_path,
        env={"HUB_DATABASE_URL": database_url, **light_hashing_env()},
    )
    try:
        run.wait_until_ready()
        yield run
    finally:
        run.stop()


def test_hub_run_serves_the_demo_and_stops_on_ctrl_c(hub_run):
    port, output = hub_run.port, hub_run.output
    assert "Base de données à jour." in output
    assert f"Hub d'identité prêt : http://127.0.0.1:{port}" in output

    response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}

    assert hub_run.interrupt() == 0, hub_run.output
    assert "Arrêté." in hub_run.output
    assert port_is_closed(port)


def test_hub_run_says_so_when_the_hub_cannot_start(tmp_path, database_url, session_factory):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = os.environ | {
            "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
            "HUB_DATABASE_URL": database_url,
        }

        result = subprocess.run(
            [str(HUB), "run", "--port", str(port), "--workers", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_LIMIT,
            check=False,
        )

    assert result.returncode == 1
    assert "Hub d'identité s'est arrêté au démarrage" in result.stderr
    assert "prêt" not in result.stdout


def test_hub_run_demo_serves_the_hub_and_both_portals(tmp_path):
    """`make run`'s command: the hub on its port, SOLTÉA on :5001 and Certificateurs on :5002,
    all ready when their URLs are printed, all stopped by Ctrl-C."""
    busy = [port for port in (5001, 5002) if not port_is_closed(port)]
    if busy:
        pytest.skip(f"demo portal ports in use: {busy}")
    run = start_hub_run("--demo", "--workers", "1", tmp_path=tmp_path, env=light_hashing_env())
    try:
        output = run.wait_until_ready()
        assert "SOLTÉA prêt : http://127.0.0.1:5001" in output, output
        assert "Certificateurs prêt : http://127.0.0.1:5002" in output
        discovery = requests.get(
            f"http://127.0.0.1:{run.port}/.well-known/openid-configuration", timeout=5
        ).json()
        assert discovery["issuer"] == f"http://127.0.0.1:{run.port}"
        home = requests.get("http://127.0.0.1:5002/", timeout=5)
        assert home.status_code == 200
        assert "Me connecter" in home.text

        assert run.interrupt() == 0
        assert all(port_is_closed(p) for p in (run.port, 5001, 5002))
    finally:
        run.stop()
