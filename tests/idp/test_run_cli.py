"""`hub run`: one command migrates, loads the demo, serves the hub, and Ctrl-C stops it all —
whatever signals arrive, however hard it is killed, and never for a server it did not start."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import click
import pytest
import requests

from launcher.servers import Server, Shutdown, refuse_taken_ports, wait_until_ready, watch
from tests.fixtures.hub_run import (
    HUB,
    START_LIMIT,
    STOP_LIMIT,
    HubRun,
    light_hashing_env,
    start_hub_run,
    survivors,
)
from tests.fixtures.loopback import QuietHandler, serving
from tests.fixtures.ports import free_port, port_is_closed


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

    response = requests.get(f"http://127.0.0.1:{port}/healthz?code=the-code", timeout=5)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}

    assert hub_run.interrupt() == 0, hub_run.output
    # One access line for the request, the app's (with its request id), none from granian.
    [line] = [line for line in hub_run.output.splitlines() if '"GET /healthz' in line]
    assert '"GET /healthz HTTP/1.1" 200 ' in line
    assert line.endswith(" " + response.headers["X-Request-Id"])
    assert "the-code" not in hub_run.output
    assert "Arrêté." in hub_run.output
    assert port_is_closed(port)


class OldHub(QuietHandler):
    """A server left over from an earlier run: it answers every probe with 200."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "ok", "database": "ok"}')


def test_hub_run_names_the_taken_port_and_starts_nothing(tmp_path):
    """An old server on the port would answer the readiness probe: `hub run` must not print
    « prêt » for it, but say who holds the port, before migrating or starting anything."""
    with serving(OldHub) as port:
        result = subprocess.run(
            [str(HUB), "run", "--no-portals", "--port", str(port), "--workers", "1"],
            env=os.environ | {"HUB_INSTANCE_PATH": str(tmp_path / "instance")},
            capture_output=True,
            text=True,
            timeout=START_LIMIT,
            check=False,
        )

    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        f"Erreur : le port {port} (Hub d'identité) est déjà pris par le processus {os.getpid()} ("
        in result.stderr
    )
    assert "rien n'a été démarré" in result.stderr
    assert result.stdout == ""  # not even « Base de données à jour. »
    assert not (tmp_path / "instance" / "hub.sqlite3").exists()  # not migrated


def test_hub_run_checks_every_server_s_port_first(capsys):
    """With --demo the portals' ports are checked too, all before anything starts: here the
    second server's port is taken by a socket that only listens."""
    free, (taken_socket, taken) = free_port(), listening_socket()
    with taken_socket:
        servers = [
            Server(name, ["true"], f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/healthz")
            for name, port in (("Hub d'identité", free), ("SOLTÉA", taken))
        ]
        with pytest.raises(click.exceptions.Exit) as refused:
            refuse_taken_ports(servers)

    assert refused.value.exit_code == 1
    message = capsys.readouterr().err
    assert f"le port {taken} (SOLTÉA) est déjà pris par le processus {os.getpid()}" in message
    assert all(server.process is None for server in servers)


@pytest.mark.parametrize("ready", [False, True], ids=["at-start", "later"])
def test_hub_run_says_in_french_which_server_stopped(capsys, ready):
    """A server that dies, while starting or once ready, stops `hub run` with status 1 and a
    French sentence naming it (and its exit code)."""
    port = free_port()
    dying = Server(
        "SOLTÉA",
        [sys.executable, "-c", "raise SystemExit(3)"],
        f"http://127.0.0.1:{port}",
        f"http://127.0.0.1:{port}/healthz",
    )
    dying.start()
    dying.process.wait(10)

    with pytest.raises(click.exceptions.Exit) as stopped:
        (watch if ready else wait_until_ready)([dying], Shutdown([dying]))

    assert stopped.value.exit_code == 1
    at_start = "" if ready else " au démarrage"
    assert capsys.readouterr().err == f"Erreur : SOLTÉA s'est arrêté{at_start} (code 3).\n"


def listening_socket() -> tuple[socket.socket, int]:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken, taken.getsockname()[1]


def plain_hub_run(tmp_path):
    """`hub run` without the demo, on SQLite in its instance folder: the quickest to start."""
    run = start_hub_run("--no-portals", "--workers", "1", tmp_path=tmp_path)
    run.wait_until_ready()
    return run


def test_hub_run_a_second_sigterm_only_hurries_the_stop(tmp_path):
    """A second SIGTERM (or Ctrl-C) while stopping kills the servers at once: no traceback,
    and nothing it started survives."""
    run = plain_hub_run(tmp_path)
    started = run.descendants()
    try:
        run.process.send_signal(signal.SIGTERM)
        wait_for_line(run, "Arrêt en cours…")
        run.process.send_signal(signal.SIGTERM)
        code = run.process.wait(STOP_LIMIT)
    finally:
        run.stop()
        left = survivors(started)

    assert "Traceback" not in run.output
    assert code == 0, run.output
    assert run.output.rstrip().endswith("Arrêté.")
    assert left == []
    assert port_is_closed(run.port)


def test_hub_run_killed_hard_takes_its_servers_with_it(tmp_path):
    """SIGKILL leaves `hub run` no chance to stop anything: its servers stop by themselves."""
    run = plain_hub_run(tmp_path)
    started = run.descendants()
    assert started, "hub run started no server"

    run.process.kill()
    run.process.wait(STOP_LIMIT)

    assert survivors(started) == []
    assert port_is_closed(run.port)


def test_hub_run_started_by_make_stops_when_the_group_gets_sigterm(tmp_path):
    """`kill -TERM -- -PGID` on `make run`: make passes its own SIGTERM on to `hub run`, which
    so gets two; everything it started stops all the same."""
    if shutil.which("make") is None:
        pytest.skip("GNU make is not installed")
    port = free_port()
    makefile = tmp_path / "Makefile"
    makefile.write_text(f"run:\n\t{HUB} run --no-portals --workers 1 --port {port}\n")
    log = tmp_path / "make-run.log"
    with log.open("wb") as output:
        make = subprocess.Popen(
            ["make", "-s", "-f", str(makefile), "run"],
            env=os.environ | {"HUB_INSTANCE_PATH": str(tmp_path / "instance"),
                              "HUB_SMTP_PORT": str(free_port()), "HUB_DEMO": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives `make run`
        )  # fmt: skip
    run = HubRun(make, log, port)
    started: list = []
    try:
        run.wait_until_ready()
        started = run.descendants()
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(STOP_LIMIT)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(make.pid, signal.SIGKILL)
        left = survivors(started)

    assert "Traceback" not in run.output
    assert left == []
    assert port_is_closed(port)


def wait_for_line(run: HubRun, line: str) -> None:
    deadline = time.monotonic() + STOP_LIMIT
    while line not in run.output:
        assert time.monotonic() < deadline, run.output
        time.sleep(0.01)


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
