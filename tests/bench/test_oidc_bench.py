"""Identity-provider benchmark (issues 3 and 17): the hub beside the OpenID-certified node
oidc-provider, in the same run, on this machine whose speed moves from hour to hour — so the
targets are ratios to the reference measured minutes apart, not absolute figures.

The shared driver (`../shared/bench/oidc-bench.py`: 4 concurrent flows over 2 processes, 8 s
per phase, server CPU from `--server-pid`) runs SSO flows (authorize with a session → token)
and rotating refresh grants against: the reference, the hub on SQLite and the hub on PostgreSQL
(`hub run --demo --no-portals --workers 2`, production argon2 parameters), in `ROUNDS`
interleaved rounds — reference, SQLite, PostgreSQL, …, reference — each run after a warm-up
of its own (`WARM_UP`), each provider's figure the mean of its runs: one provider measured
minutes apart from another moved by up to a third on these machines, so a single run of each
settled no ratio near a target. A third hub with the
lightest hashing gives the sign-in's cost beyond the password hash (login minus sso), judged
beside the reference's whole sign-in in the same run (it checks no password). Then the
hot path in-process: statements, transactions and round trips per flow, CPU per endpoint
(`hot_path_cost`).

Everything is printed first; each target of issue 17 is then a test of its own.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from hub.demo import DEMO_PASSWORD
from tests.bench import hot_path_cost, reference_op
from tests.conftest import empty_postgres_schema, postgres_unavailable
from tests.fixtures.hub_run import light_hashing_env, start_hub_run
from tests.fixtures.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(os.environ.get("OIDC_BENCH_DRIVER", ROOT.parent / "shared/bench/oidc-bench.py"))
DURATION = os.environ.get("OIDC_BENCH_DURATION", "8")
# Seconds of both phases each provider serves, unrecorded, right before it is measured: node's
# JIT and the hub's caches (keys, clients, psycopg's prepared statements) are then warm, as in
# service. Without it the reference's first run was its slowest (V8 warming up: 1.99–2.09 ms per
# SSO flow against 1.61–1.74 after it), which flattered every ratio to it; 2 s still left it at
# 1.81; 8 s, its runs agree (1.65–1.69).
WARM_UP = os.environ.get("OIDC_BENCH_WARM_UP", DURATION)
ROUNDS = int(os.environ.get("OIDC_BENCH_ROUNDS", "2"))  # runs of each hub
CONCURRENCY = "4"
PROCS = "2"
SCOPE = "openid profile email"
PHASES = ("sso", "refresh")
LABELS = {"sso": "SSO code flow", "refresh": "refresh grant"}
MB = 1024 * 1024

# Issue 17's targets, on same-run ratios to the reference.
SQLITE_RATE_AT_LEAST = 1.0  # × the reference's flows/s
SQLITE_CPU_AT_MOST = 1.0  # × the reference's server CPU per flow
POSTGRESQL_CPU_AT_MOST = 1.5
# Server CPU per sign-in beyond the password hash: 5 ms, the reference's whole sign-in (it hashes
# no password) on the machine where issue 17 was filed; on a slower machine, the reference's
# whole sign-in in the same run (13 to 17 ms on the slowest machine of this kind seen so far).
SIGN_IN_OVERHEAD_MS = 5.0
WORKER_RSS_MB = 120.0  # per web worker process, after the load

SOLTEA = {
    "client_id": "soltea",
    "client_secret": "soltea-dev-secret",
    "redirect_uri": "http://127.0.0.1:5001/auth/callback",
    "username": "alice.martin",
    "password": DEMO_PASSWORD,
}
REFERENCE = {
    "client_id": reference_op.CLIENT_ID,
    "client_secret": reference_op.CLIENT_SECRET,
    "redirect_uri": reference_op.REDIRECT_URI,
    "username": "alice",
    "password": "alice",
}


@dataclass(frozen=True)
class Figure:
    """One phase against one provider: flows per second and server CPU per flow."""

    rate: float
    cpu_ms: float

    def __str__(self) -> str:
        return f"{self.rate:.0f} flows/s, {self.cpu_ms:.2f} ms CPU per flow"


@dataclass
class Provider:
    name: str
    runs: list[dict[str, Figure]] = field(default_factory=list)
    worker_rss_mb: list[float] = field(default_factory=list)  # every run's workers
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def figures(self) -> dict[str, Figure]:
        """Per phase, the mean of the runs."""
        return {
            phase: Figure(
                statistics.mean(run[phase].rate for run in self.runs),
                statistics.mean(run[phase].cpu_ms for run in self.runs),
            )
            for phase in self.runs[0]
        }

    def add(self, results: list[dict]) -> None:
        self.runs.append(figures(results))
        self.errors.extend(errors(results))


@dataclass
class SameRun:
    reference: Provider
    sqlite: Provider
    postgresql: Provider
    sign_in_overhead_ms: float
    reference_sign_in_ms: float
    light_errors: list[str]
    hot_path: list[hot_path_cost.HotPathCost]


def drive(
    issuer: str,
    server_pid: int,
    out: Path,
    *,
    client: dict[str, str],
    phases: str,
    duration: str = DURATION,
):
    """The shared driver's results (it prints its own table)."""
    subprocess.run(
        [
            sys.executable, str(DRIVER),
            "--issuer", issuer,
            "--client-id", client["client_id"],
            "--client-secret", client["client_secret"],
            "--redirect-uri", client["redirect_uri"],
            "--username", client["username"],
            "--password", client["password"],
            "--scope", SCOPE,
            "--phases", phases,
            "--duration", duration,
            "--concurrency", CONCURRENCY,
            "--procs", PROCS,
            "--server-pid", str(server_pid),
            "--label", out.stem,
            "--out", str(out),
        ],
        check=True,
    )  # fmt: skip
    return json.loads(out.read_text())["results"]


def figures(results: list[dict]) -> dict[str, Figure]:
    """Per phase; a phase without a single flow has no CPU per flow (NaN: no target is met)."""
    return {
        r["phase"]: Figure(r["flows_per_s"], r["server_cpu_ms_per_flow"] or float("nan"))
        for r in results
    }


def errors(results: list[dict]) -> list[str]:
    return [
        f"{r['phase']}: {r['errors']} errors, {r['setup_failures']} setup failures: "
        f"{r['first_errors'][:2]}"
        for r in results
        if r["errors"] or r["setup_failures"]
    ]


@contextmanager
def running_hub(folder: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """`hub run --demo --no-portals --workers 2`; yields (issuer, the web server's main pid)."""
    port = free_port()
    run = start_hub_run(
        "--demo",
        "--no-portals",
        "--workers",
        "2",
        tmp_path=folder,
        port=port,
        env={"HUB_PUBLIC_URL": f"http://127.0.0.1:{port}", **(env or {})},
    )
    try:
        run.wait_until_ready()
        (master,) = run.servers()
        yield f"http://127.0.0.1:{port}", master.pid
    finally:
        run.stop()


def workers_rss_mb(master_pid: int) -> list[float]:
    return [child.memory_info().rss / MB for child in psutil.Process(master_pid).children()]


def warm_up(issuer: str, pid: int, out: Path, *, client: dict[str, str]) -> None:
    drive(issuer, pid, out, client=client, phases=",".join(PHASES), duration=WARM_UP)


def measure_hub(provider: Provider, folder: Path, env: dict[str, str] | None = None) -> None:
    with running_hub(folder, env) as (issuer, master_pid):
        warm_up(issuer, master_pid, folder / "warm-up.json", client=SOLTEA)
        results = drive(
            issuer,
            master_pid,
            folder / f"hub-{folder.name}.json",
            client=SOLTEA,
            phases=",".join(PHASES),
        )
        provider.worker_rss_mb.extend(workers_rss_mb(master_pid))
    provider.add(results)


def measure_reference(provider: Provider, issuer: str, pid: int, out: Path) -> None:
    warm_up(issuer, pid, out.with_suffix(".warm-up.json"), client=REFERENCE)
    provider.add(drive(issuer, pid, out, client=REFERENCE, phases=",".join(PHASES)))


@pytest.fixture(scope="module")
def same_run(tmp_path_factory) -> SameRun:
    if not DRIVER.exists():
        pytest.skip(f"load driver not found at {DRIVER}")
    if reason := reference_op.unavailable():
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("oidc-bench")
    reference = Provider("node oidc-provider")
    sqlite, postgresql = Provider("hub, SQLite"), Provider("hub, PostgreSQL")
    postgresql.skipped = postgres_unavailable()
    with reference_op.running_reference(tmp / "reference") as node:
        reference.name = f"node oidc-provider {node.version}"
        for n in range(1, ROUNDS + 1):
            measure_reference(reference, node.issuer, node.pid, tmp / f"reference-{n}.json")
            measure_hub(sqlite, tmp / f"sqlite-{n}")
            if not postgresql.skipped:
                with empty_postgres_schema("hubbench") as url:
                    measure_hub(postgresql, tmp / f"postgresql-{n}", {"HUB_DATABASE_URL": url})
        last = tmp / f"reference-{ROUNDS + 1}.json"
        measure_reference(reference, node.issuer, node.pid, last)
        sign_in = drive(node.issuer, node.pid, tmp / "reference-login.json", client=REFERENCE,
                        phases="login")  # fmt: skip
        reference.errors.extend(errors(sign_in))
    with running_hub(tmp / "light", light_hashing_env()) as (issuer, master_pid):
        light = drive(issuer, master_pid, tmp / "light.json", client=SOLTEA, phases="sso,login")
    light_cpu = {r["phase"]: r["server_cpu_ms_per_flow"] for r in light}
    hot_path = [hot_path_cost.measure("SQLite", f"sqlite:///{tmp / 'cost.sqlite3'}", tmp / "i1")]
    if not postgresql.skipped:
        with empty_postgres_schema("hubcost") as url:
            hot_path.append(hot_path_cost.measure("PostgreSQL", url, tmp / "i2"))
    run = SameRun(
        reference,
        sqlite,
        postgresql,
        light_cpu["login"] - light_cpu["sso"],
        figures(sign_in)["login"].cpu_ms,
        errors(light),
        hot_path,
    )
    print(report(run))
    print(hot_path_cost.report(hot_path))
    return run


def ratios(hub: Provider, reference: Provider, phase: str) -> tuple[float, float]:
    """(the hub's rate / the reference's, the hub's CPU per flow / the reference's)."""
    ours, theirs = hub.figures[phase], reference.figures[phase]
    return ours.rate / theirs.rate, ours.cpu_ms / theirs.cpu_ms


def targets(run: SameRun) -> list[tuple[str, bool | None, str]]:
    """(target, met — None when not measured —, the figure) for each of issue 17's targets."""
    rows: list[tuple[str, bool | None, str]] = []
    for phase in PHASES:
        rate, cpu = ratios(run.sqlite, run.reference, phase)
        rows.append(
            (
                f"SQLite {phase}: rate ≥ {SQLITE_RATE_AT_LEAST:.1f}× the reference's",
                rate >= SQLITE_RATE_AT_LEAST,
                f"{rate:.2f}×",
            )
        )
        rows.append(
            (
                f"SQLite {phase}: CPU per flow ≤ {SQLITE_CPU_AT_MOST:.1f}× the reference's",
                cpu <= SQLITE_CPU_AT_MOST,
                f"{cpu:.2f}×",
            )
        )
    for phase in PHASES:
        if run.postgresql.skipped:
            rows.append((f"PostgreSQL {phase}: CPU per flow", None, run.postgresql.skipped))
            continue
        _rate, cpu = ratios(run.postgresql, run.reference, phase)
        rows.append(
            (
                f"PostgreSQL {phase}: CPU per flow ≤ {POSTGRESQL_CPU_AT_MOST:.1f}× the reference's",
                cpu <= POSTGRESQL_CPU_AT_MOST,
                f"{cpu:.2f}×",
            )
        )
    allowed = max(SIGN_IN_OVERHEAD_MS, run.reference_sign_in_ms)
    rows.append(
        (
            f"password sign-in beyond the hash ≤ {SIGN_IN_OVERHEAD_MS:.0f} ms or the reference's "
            f"whole sign-in, {run.reference_sign_in_ms:.1f} ms",
            run.sign_in_overhead_ms <= allowed,
            f"{run.sign_in_overhead_ms:.1f} ms",
        )
    )
    for hub in (run.sqlite, run.postgresql):
        if hub.skipped:
            continue
        rss = ", ".join(f"{mb:.0f}" for mb in hub.worker_rss_mb)
        rows.append(
            (
                f"{hub.name}: RSS per web worker ≤ {WORKER_RSS_MB:.0f} MB",
                max(hub.worker_rss_mb) <= WORKER_RSS_MB,
                f"{rss} MB",
            )
        )
    return rows


def report(run: SameRun) -> str:
    hubs = [run.sqlite, run.postgresql]
    width = 38
    columns = [*hubs, run.reference]
    lines = [
        f"\nsame run: {CONCURRENCY} concurrent flows over {PROCS} driver processes, {DURATION} s "
        f"per phase, server CPU from --server-pid; {ROUNDS} interleaved rounds (reference, "
        "SQLite, PostgreSQL, …, reference), each figure the mean of a provider's runs",
        f"{'':<16}" + "".join(f" | {p.name:<{width}}" for p in columns),
    ]
    for phase in PHASES:
        cells = ["skipped" if p.skipped else str(p.figures[phase]) for p in columns]
        lines.append(f"{LABELS[phase]:<16}" + "".join(f" | {c:<{width}}" for c in cells))
    for provider in columns:
        for n, figures_ in enumerate(provider.runs, 1):
            runs = "; ".join(f"{phase} {figures_[phase]}" for phase in PHASES)
            lines.append(f"  {provider.name}, run {n}: {runs}")
    lines.append("ratio to the reference (rate, CPU per flow):")
    for phase in PHASES:
        cells = []
        for hub in hubs:
            if hub.skipped:
                cells.append("skipped")
                continue
            rate, cpu = ratios(hub, run.reference, phase)
            cells.append(f"{rate:.2f}× the rate, {cpu:.2f}× the CPU")
        lines.append(f"{LABELS[phase]:<16}" + "".join(f" | {c:<{width}}" for c in cells))
    if run.postgresql.skipped:
        lines.append(f"hub, PostgreSQL skipped: {run.postgresql.skipped}")
    lines.append("targets (issue 17):")
    for target, met, figure in targets(run):
        mark = {True: "✔", False: "✖", None: "–"}[met]
        lines.append(f"  {mark} {target}: {figure}")
    for provider in columns:
        lines.extend(f"  errors, {provider.name}: {e}" for e in provider.errors)
    lines.extend(f"  errors, light-hashing hub: {e}" for e in run.light_errors)
    return "\n".join(lines)


def check(run: SameRun, prefix: str) -> None:
    (row,) = [row for row in targets(run) if row[0].startswith(prefix)]
    target, met, figure = row
    if met is None:
        pytest.skip(f"{target}: {figure}")
    if not met:  # the message alone: the run's figures are printed above
        pytest.fail(f"issue 17 target missed — {target}: {figure}", pytrace=False)


def test_no_flow_failed(same_run):
    failures = [
        *(f"{p.name}: {e}" for p in (same_run.reference, same_run.sqlite, same_run.postgresql)
          for e in p.errors),
        *(f"light-hashing hub: {e}" for e in same_run.light_errors),
    ]  # fmt: skip
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)


@pytest.mark.parametrize("phase", PHASES)
def test_sqlite_rate_at_least_the_reference(same_run, phase):
    check(same_run, f"SQLite {phase}: rate")


@pytest.mark.parametrize("phase", PHASES)
def test_sqlite_cpu_per_flow_at_most_the_reference(same_run, phase):
    check(same_run, f"SQLite {phase}: CPU")


@pytest.mark.parametrize("phase", PHASES)
def test_postgresql_cpu_per_flow_at_most_one_and_a_half_times_the_reference(same_run, phase):
    check(same_run, f"PostgreSQL {phase}: CPU")


def test_password_sign_in_beyond_the_hash(same_run):
    check(same_run, "password sign-in")


@pytest.mark.parametrize("database", ["SQLite", "PostgreSQL"])
def test_worker_memory_after_the_load(same_run, database):
    hub = same_run.sqlite if database == "SQLite" else same_run.postgresql
    if hub.skipped:
        pytest.skip(hub.skipped)
    check(same_run, f"{hub.name}: RSS")
