"""`hub run`: one command migrates, loads the demo, serves the hub, and Ctrl-C stops it all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import LIGHT_HASHING

HUB = Path(sys.executable).parent / "hub"
START_LIMIT = 60.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def port_is_closed(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def hub_run(tmp_path, database_url, session_factory):
    """Starts `hub run` as a person would, on a fresh instance folder and a free port
    (`session_factory` empties the shared test database afterwards)."""
    port = free_port()
    env = os.environ | {
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_DATABASE_URL": database_url,
        "HUB_ARGON2_TIME_COST": str(LIGHT_HASHING.time_cost),
        "HUB_ARGON2_MEMORY_COST": str(LIGHT_HASHING.memory_cost),
        "HUB_ARGON2_PARALLELISM": str(LIGHT_HASHING.parallelism),
        "HUB_SMTP_PORT": str(free_port()),  # nobody listens: mail waits in the outbox
    }
    process = subprocess.Popen(
        [str(HUB), "run", "--demo", "--no-portals", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + START_LIMIT
    try:
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C pour tout arrêter." in line:
                yield process, port, lines
                return
        pytest.fail("hub run never became ready:\n" + "".join(lines))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_hub_run_serves_the_demo_and_stops_on_ctrl_c(hub_run):
    process, port, lines = hub_run
    output = "".join(lines)
    assert "Base de données à jour." in output
    assert f"Hub d'identité prêt : http://127.0.0.1:{port}" in output

    response = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}

    process.send_signal(signal.SIGINT)
    remaining, _ = process.communicate(timeout=20)

    assert process.returncode == 0, output + remaining
    assert "Arrêté." in remaining
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
    port = free_port()
    env = os.environ | {
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_ARGON2_TIME_COST": str(LIGHT_HASHING.time_cost),
        "HUB_ARGON2_MEMORY_COST": str(LIGHT_HASHING.memory_cost),
        "HUB_ARGON2_PARALLELISM": str(LIGHT_HASHING.parallelism),
        "HUB_SMTP_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        [str(HUB), "run", "--demo", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        output = ""
        for line in process.stdout:
            output += line
            if "Ctrl-C pour tout arrêter." in line:
                break
        assert "SOLTÉA prêt : http://127.0.0.1:5001" in output, output
        assert "Certificateurs prêt : http://127.0.0.1:5002" in output
        discovery = requests.get(
            f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=5
        ).json()
        assert discovery["issuer"] == f"http://127.0.0.1:{port}"
        home = requests.get("http://127.0.0.1:5002/", timeout=5)
        assert home.status_code == 200
        assert "Me connecter" in home.text

        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
        assert process.returncode == 0
        assert all(port_is_closed(p) for p in (port, 5001, 5002))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
