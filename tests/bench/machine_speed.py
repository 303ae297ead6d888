"""How fast this machine is today, against the one the targets were set on.

The same kind of machine varies a lot from day to day (argon2's memory-bound hashing less than
the system calls every HTTP request makes: we have seen a Flask "hello" cost 0.35 ms of server
CPU per request one day and 1.3 ms another). The shared benchmark README measured 0.35 ms on the
reference day, for the same setup as the hub's: a Flask view under gunicorn, 2 sync workers, on
loopback. Measuring it again here, in the same run as the hub, gives the factor that turns the
day's figures into the reference machine's, so that the issue's targets keep their meaning.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import requests

from tests.fixtures.ports import free_port

REFERENCE_HELLO_CPU_MS = 0.35  # ../shared/bench/README.md: Flask "hello", gunicorn 2 sync
REQUESTS = 2000
THREADS = 4
ROUNDS = 3

HELLO_APP = """
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"
"""


def _tree_cpu_seconds(process: psutil.Process) -> float:
    total = 0.0
    for member in (process, *process.children(recursive=True)):
        times = member.cpu_times()
        total += times.user + times.system
    return total


def _drive(url: str) -> None:
    def worker() -> None:
        with requests.Session() as session:
            for _ in range(REQUESTS // THREADS):
                session.get(url, timeout=30).raise_for_status()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def hello_cpu_ms(tmp_path: Path) -> float:
    """Server CPU per request of a Flask "hello" under gunicorn (2 sync workers): the median
    of a few rounds, after a warm-up."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "hello_app.py").write_text(HELLO_APP)
    port = free_port()
    argv = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", "2", "hello_app:app"]
    server = subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url)
        _drive(url)  # warm-up
        master = psutil.Process(server.pid)
        rounds = []
        for _ in range(ROUNDS):
            before = _tree_cpu_seconds(master)
            _drive(url)
            rounds.append((_tree_cpu_seconds(master) - before) * 1000 / REQUESTS)
        return statistics.median(rounds)
    finally:
        server.terminate()
        server.wait(10)


def _wait_for(url: str, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=(1, 10))
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def slowdown(tmp_path: Path) -> float:
    """How many times slower than the reference day this machine serves a request (1.0: as
    fast; 3.0: a third of the speed)."""
    return hello_cpu_ms(tmp_path) / REFERENCE_HELLO_CPU_MS
