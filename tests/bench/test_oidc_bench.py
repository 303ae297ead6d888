"""Identity-provider benchmark (issue 3): the hub under gunicorn (2 workers) on loopback, driven
by the shared OIDC load driver (`../shared/bench/oidc-bench.py`, which works against any
provider), with the production argon2 parameters.

Prints the driver's table (flows/s, p50, p95, server CPU per flow) for: sso (authorize → token
with an existing session), refresh (rotating refresh_token grants) and login (a code flow with a
password sign-in), then the cost of one password hash alone and the sign-in overhead beyond it.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hub.config import PasswordHashing
from hub.demo import DEMO_PASSWORD
from hub.passwords import hash_password, verify_password
from tests.bench.machine_speed import REFERENCE_HELLO_CPU_MS, slowdown
from tests.fixtures.hub_run import light_hashing_env, start_hub_run
from tests.fixtures.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DRIVER = Path(os.environ.get("OIDC_BENCH_DRIVER", ROOT.parent / "shared/bench/oidc-bench.py"))
DURATION = os.environ.get("OIDC_BENCH_DURATION", "10")
CONCURRENCY = os.environ.get("OIDC_BENCH_CONCURRENCY", "1,4,16")
TARGETS = {"sso": 250.0, "refresh": 600.0}  # flows/s on the reference 2-core machine
SIGN_IN_OVERHEAD_TARGET_MS = 5.0


@contextmanager
def running_hub(tmp_path: Path, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """`hub run --demo` with 2 gunicorn workers; yields (issuer, gunicorn master pid)."""
    port = free_port()
    run = start_hub_run(
        "--demo",
        "--no-portals",
        "--workers",
        "2",
        tmp_path=tmp_path,
        port=port,
        env={"HUB_PUBLIC_URL": f"http://127.0.0.1:{port}", **(env or {})},
    )
    try:
        run.wait_until_ready()
        (master,) = run.servers()
        yield f"http://127.0.0.1:{port}", master.pid
    finally:
        run.stop()


def drive(issuer: str, server_pid: int, out: Path, *, phases: str, concurrency: str) -> list[dict]:
    """The shared driver's results (it prints its own table)."""
    subprocess.run(
        [
            sys.executable, str(DRIVER),
            "--issuer", issuer,
            "--client-id", "soltea",
            "--client-secret", "soltea-dev-secret",
            "--redirect-uri", "http://127.0.0.1:5001/auth/callback",
            "--username", "alice.martin",
            "--password", DEMO_PASSWORD,
            "--scope", "openid profile email",
            "--phases", phases,
            "--duration", DURATION,
            "--concurrency", concurrency,
            "--procs", "2",
            "--server-pid", str(server_pid),
            "--out", str(out),
        ],
        check=True,
    )  # fmt: skip
    return json.loads(out.read_text())["results"]


def server_cpu_ms(results: list[dict], phase: str) -> float:
    return statistics.median(r["server_cpu_ms_per_flow"] for r in results if r["phase"] == phase)


def password_hash_ms() -> float:
    params = PasswordHashing()
    stored = hash_password(DEMO_PASSWORD, params)
    timings = []
    for _ in range(7):
        start = time.process_time()
        verify_password(stored, DEMO_PASSWORD, params)
        timings.append((time.process_time() - start) * 1000)
    return statistics.median(timings)


@pytest.mark.skipif(not DRIVER.exists(), reason=f"load driver not found at {DRIVER}")
def test_identity_provider_throughput(tmp_path):
    """(a) sso, (b) refresh and (c) login with the production argon2 parameters; (d) the hash
    alone. The sign-in overhead beyond the hash is measured on a second hub whose demo password
    was hashed with the lightest parameters: login minus sso server CPU there, free of the
    hash's own variance (± 10 ms here).

    The targets were set on a reference day of this machine; each figure is also given at that
    day's speed (`machine_speed`), measured before and after the hub's runs, and the targets
    apply to those."""
    before = slowdown(tmp_path / "speed-before")
    with running_hub(tmp_path / "real") as (issuer, server_pid):
        results = drive(
            issuer,
            server_pid,
            tmp_path / "hub.json",
            phases="sso,refresh,login",
            concurrency=CONCURRENCY,
        )
    with running_hub(tmp_path / "light", env=light_hashing_env()) as (issuer, server_pid):
        light = drive(
            issuer, server_pid, tmp_path / "light.json", phases="sso,login", concurrency="4"
        )
    factor = statistics.mean([before, slowdown(tmp_path / "speed-after")])
    hash_ms = password_hash_ms()
    overhead = server_cpu_ms(light, "login") - server_cpu_ms(light, "sso")
    best = {
        phase: max(r["flows_per_s"] for r in results if r["phase"] == phase) for phase in TARGETS
    }
    print(
        f"\nmachine: a Flask hello costs {factor:.2f}× the reference day's "
        f"{REFERENCE_HELLO_CPU_MS} ms of server CPU per request; '≙' gives a figure at that speed"
    )
    print(f"(d) password hash alone (argon2id, production parameters): {hash_ms:.0f} ms CPU")
    print(
        f"(c) sign-in: {server_cpu_ms(results, 'login'):.0f} ms server CPU per flow; beyond the "
        f"hash and the sso flow: {overhead:.1f} ms ≙ {overhead / factor:.1f} ms "
        f"(target ≤ {SIGN_IN_OVERHEAD_TARGET_MS:.0f})"
    )
    for phase, target in TARGETS.items():
        cpu = server_cpu_ms(results, phase)
        print(
            f"{phase}: best {best[phase]:.0f}/s ≙ {best[phase] * factor:.0f}/s "
            f"(target ≥ {target:.0f}/s); {cpu:.2f} ms server CPU ≙ {cpu / factor:.2f} ms"
        )
    assert all(r["errors"] == 0 for r in results + light), [r["first_errors"] for r in results]
    assert best["sso"] * factor >= TARGETS["sso"]
    assert best["refresh"] * factor >= TARGETS["refresh"]
    assert overhead / factor <= SIGN_IN_OVERHEAD_TARGET_MS
