"""The production topology under load (issue 16): the shared driver's SSO flows through HAProxy
to two hub instances on PostgreSQL, for 30 s, while one instance is stopped (SIGTERM) at 10 s
and started again at 20 s; then the same with SIGKILL; then with PostgreSQL restarted.

Prints, for each run, flows/s and p95 before (0–10 s), during (10–20 s) and after (20–30 s) the
event, and the failed flows with their first errors. Targets: 0 failed flows for SIGTERM and for
the database restart; with SIGKILL, only the requests in flight may fail, each with a clean error
(an HTTP error or a closed connection, never a hang).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import psutil
import pytest
import requests

import migrations
from hub.clock import utcnow
from hub.config import PasswordHashing
from hub.database import make_engine, make_session_factory
from hub.demo import DEMO_PASSWORD, load_demo
from launcher.cluster import HAPROXY_CONFIG, haproxy_binary, proxy_environment
from tests.fixtures.hub_run import HubRun, start_hub_run
from tests.fixtures.ports import free_port
from tests.fixtures.postgres_server import running_postgres_server

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(os.environ.get("OIDC_BENCH_DRIVER", ROOT.parent / "shared/bench/oidc-bench.py"))
DURATION = float(os.environ.get("CLUSTER_BENCH_SECONDS", "30"))
EVENT_AT, BACK_AT = DURATION / 3, 2 * DURATION / 3
FLOWS = 4  # concurrent SSO flows
HOST = "127.0.0.1"


def driver_module():
    spec = importlib.util.spec_from_file_location("oidc_bench", DRIVER)
    assert spec is not None, f"no driver at {DRIVER}"
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Cluster:
    database_url: str
    root: Path
    proxy_port: int
    instance_ports: tuple[int, int]
    instances: dict[int, HubRun] = field(default_factory=dict)
    proxy: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://{HOST}:{self.proxy_port}"

    def environment(self) -> dict[str, str]:
        return {
            "HUB_DATABASE_URL": self.database_url,
            "HUB_SECRET_KEY": "the-cluster-benchmark-shares-this-secret-key-between-instances",
            "HUB_PUBLIC_URL": self.issuer,
            "HUB_DEMO": "1",
            "HUB_TRUSTED_PROXIES": "1",
            "HUB_DRAIN_SECONDS": "2",
        }

    def start_instance(self, number: int) -> HubRun:
        run = start_hub_run(
            "--no-portals",
            "--workers",
            "2",
            tmp_path=self.root / f"hub-{number}-{time.monotonic_ns()}",
            port=self.instance_ports[number - 1],
            env=self.environment(),
        )
        self.instances[number] = run
        return run

    def start_proxy(self) -> None:
        """HAProxy with the repository's file, its log to a file (a line per request)."""
        env = os.environ | proxy_environment(self.proxy_port, self.instance_ports)
        log = (self.root / "haproxy.log").open("wb")
        self.proxy = subprocess.Popen(
            [str(haproxy_binary()), "-f", str(HAPROXY_CONFIG), "-db"],
            env=env,
            stdout=log,
            stderr=log,
        )

    def wait_until_both_serve(self, limit: float = 60.0) -> None:
        for run in self.instances.values():
            run.wait_until_ready(limit)
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if all(_ready(f"http://{HOST}:{port}") for port in self.instance_ports) and _ready(
                self.issuer
            ):
                time.sleep(2.5)  # HAProxy's `rise 2` at 1 s intervals
                return
            time.sleep(0.2)
        raise AssertionError("the cluster never became ready")

    def kill_instance(self, number: int) -> None:
        """SIGKILL to `hub run` and every process under it at once: a crash, not a stop."""
        run = self.instances[number]
        processes = [psutil.Process(run.process.pid), *run.descendants()]
        for process in processes:
            with suppress(psutil.NoSuchProcess):
                process.kill()
        run.process.wait()
        psutil.wait_procs(processes, timeout=10)

    def stop(self) -> None:
        for run in self.instances.values():
            run.stop()
        if self.proxy is not None:
            self.proxy.terminate()
            self.proxy.wait(10)


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def prepare(database_url: str) -> None:
    """The demo with the production password parameters, loaded once before the instances."""
    migrations.upgrade(database_url)
    engine = make_engine(database_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        load_demo(session, now=utcnow(), passwords=PasswordHashing())
    engine.dispose()


@contextmanager
def running_cluster(database_url: str, root: Path) -> Iterator[Cluster]:
    prepare(database_url)
    cluster = Cluster(database_url, root, free_port(), (free_port(), free_port()))
    try:
        cluster.start_instance(1)
        cluster.start_instance(2)
        cluster.start_proxy()
        cluster.wait_until_both_serve()
        yield cluster
    finally:
        cluster.stop()


@dataclass(frozen=True)
class Flow:
    start: float
    end: float
    error: str | None


TIMELINE: list[tuple[float, str]] = []  # (time.monotonic(), what happened), printed by `report`


def noted(what: str, action: Callable[[], object]) -> Callable[[], None]:
    def run() -> None:
        action()
        TIMELINE.append((time.monotonic(), what))

    return run


def sso_load(issuer: str, events: list[tuple[float, Callable[[], None]]]) -> list[Flow]:
    """`FLOWS` threads running the driver's SSO flow for `DURATION` seconds; each event runs at
    its time (seconds from the start) in a thread of its own."""
    bench = driver_module()
    args = SimpleNamespace(
        client_id="soltea",
        client_secret="soltea-dev-secret",  # the demo's published client secret
        redirect_uri="http://127.0.0.1:5001/auth/callback",
        username="alice.martin",
        password=DEMO_PASSWORD,
        scope="openid profile email",
        sso_scope="openid profile email",
        timeout=30.0,
        max_steps=12,
    )
    meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5).json()
    client = bench.Client(args, meta)
    flows: list[Flow] = []
    lock = threading.Lock()
    signed_in = threading.Barrier(FLOWS + 1)
    start = [0.0]

    def flow_loop() -> None:
        http = client.new_session()
        client.sign_in(http)
        signed_in.wait()
        while (began := time.monotonic()) < start[0] + DURATION:
            error = None
            try:
                client.code_flow(http, args.sso_scope, credentials=(args.username, args.password))
            except Exception as failure:  # every failure is counted, whatever its kind
                error = f"{type(failure).__name__}: {str(failure)[:200]}"
            with lock:
                flows.append(Flow(began - start[0], time.monotonic() - start[0], error))

    threads = [threading.Thread(target=flow_loop, daemon=True) for _ in range(FLOWS)]
    for thread in threads:
        thread.start()
    signed_in.wait()
    start[0] = time.monotonic()
    TIMELINE[:] = [(start[0], "load started")]
    timers = [threading.Timer(at, action) for at, action in events]
    for timer in timers:
        timer.start()
    for thread in threads:
        thread.join(DURATION + 60)
    for timer in timers:
        timer.join(60)
    return flows


def report(title: str, flows: list[Flow]) -> list[Flow]:
    """Prints the figures; returns the failed flows."""
    print(f"\n{title}: {FLOWS} concurrent SSO flows through HAProxy for {DURATION:g} s")
    windows = (
        ("before", 0.0, EVENT_AT),
        ("during", EVENT_AT, BACK_AT),
        ("after", BACK_AT, DURATION),
    )
    for name, begin, end in windows:
        done = [f for f in flows if begin <= f.start < end]
        ok = sorted(f.end - f.start for f in done if f.error is None)
        p95 = statistics.quantiles(ok, n=20)[-1] * 1000 if len(ok) >= 2 else float("nan")
        failed = sum(1 for f in done if f.error)
        print(
            f"  {name:>6} ({begin:4.0f}–{end:2.0f} s): {len(ok) / (end - begin):6.1f} flows/s, "
            f"p95 {p95:6.1f} ms, {failed} failed"
        )
    begun = TIMELINE[0][0]
    for moment, what in TIMELINE[1:]:
        print(f"  at {moment - begun:5.2f} s: {what}")
    failures = [f for f in flows if f.error]
    print(f"  failed flows: {len(failures)} of {len(flows)}")
    for failure in failures[:5]:
        print(f"    at {failure.start:5.2f} s: {failure.error}")
    return failures


def restart_later(cluster: Cluster, number: int) -> Callable[[], None]:
    def restart() -> None:
        old = cluster.instances[number]
        old.process.wait(30)
        TIMELINE.append(
            (time.monotonic(), f"instance {number} had exited (code {old.process.returncode})")
        )
        cluster.start_instance(number).wait_until_ready()
        TIMELINE.append((time.monotonic(), f"instance {number} started again, ready"))

    return restart


def test_an_instance_stopped_and_started_again_under_load_fails_no_flow(cluster_database, tmp_path):
    with running_cluster(cluster_database, tmp_path) as cluster:
        flows = sso_load(
            cluster.issuer,
            [
                (
                    EVENT_AT,
                    noted(
                        "SIGTERM to instance 1",
                        lambda: cluster.instances[1].process.send_signal(signal.SIGTERM),
                    ),
                ),
                (BACK_AT, restart_later(cluster, 1)),
            ],
        )
    failures = report("SIGTERM at 10 s, started again at 20 s", flows)
    assert failures == []


def test_an_instance_killed_under_load_fails_only_its_requests_in_flight_cleanly(
    cluster_database, tmp_path
):
    with running_cluster(cluster_database, tmp_path) as cluster:
        flows = sso_load(
            cluster.issuer,
            [
                (
                    EVENT_AT,
                    noted(
                        "SIGKILL to instance 1 and its workers", lambda: cluster.kill_instance(1)
                    ),
                ),
                (BACK_AT, restart_later(cluster, 1)),
            ],
        )
    failures = report("SIGKILL at 10 s, started again at 20 s", flows)
    assert len(failures) <= FLOWS  # at most the flows that had a request in flight
    assert all("Timeout" not in (f.error or "") for f in failures)
    assert all(EVENT_AT <= f.end <= EVENT_AT + 5 for f in failures)


def test_postgresql_restarted_under_load_fails_no_flow(tmp_path):
    if haproxy_binary() is None:
        pytest.skip("HAProxy is not installed (apt-get install haproxy)")
    with ExitStack() as stack:
        server = stack.enter_context(running_postgres_server())
        cluster = stack.enter_context(running_cluster(server.url(), tmp_path / "cluster"))
        flows = sso_load(
            cluster.issuer, [(EVENT_AT, noted("PostgreSQL restarted", server.restart))]
        )
    failures = report("PostgreSQL restarted at 10 s", flows)
    assert failures == []
