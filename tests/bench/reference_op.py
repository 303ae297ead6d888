"""The reference provider the hub is measured against in the same run (issue 17): node
oidc-provider, an OpenID-certified provider, from `../shared/bench/reference-op/`.

That folder is read-only and shared: its two files are copied into `.bench/reference-op/` (kept
out of git) and npm installs the provider there once. Machines of this kind vary from hour to
hour, so the hub's figures are only given as ratios to this provider's, measured in the same run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.fixtures.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
SOURCE = Path(os.environ.get("OIDC_BENCH_REFERENCE", ROOT.parent / "shared/bench/reference-op"))
CACHE = ROOT / ".bench" / "reference-op"
FILES = ("package.json", "server.mjs")
START_LIMIT = 30.0

# server.mjs's one client; any username and password sign in.
CLIENT_ID = "bench"
CLIENT_SECRET = "bench-secret-0123456789"
REDIRECT_URI = "http://127.0.0.1:9999/cb"


@dataclass(frozen=True)
class ReferenceProvider:
    issuer: str
    pid: int
    version: str


def unavailable() -> str | None:
    """Why the reference cannot run here, or None."""
    if not (SOURCE / "server.mjs").exists():
        return f"reference provider not found at {SOURCE}"
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not installed" if missing else None


def install() -> None:
    """Copies the reference's files into the cache when they changed and npm-installs them once
    (again when package.json changed)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    changed = False
    for name in FILES:
        source, copy = SOURCE / name, CACHE / name
        if not copy.exists() or copy.read_bytes() != source.read_bytes():
            copy.write_bytes(source.read_bytes())
            changed = changed or name == "package.json"
    if changed or not (CACHE / "node_modules" / "oidc-provider").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=CACHE, check=True)


def installed_version() -> str:
    manifest = CACHE / "node_modules" / "oidc-provider" / "package.json"
    return json.loads(manifest.read_text())["version"]


@contextmanager
def running_reference(log_folder: Path) -> Iterator[ReferenceProvider]:
    """`node server.mjs` (RS256) on a free loopback port, until its discovery answers."""
    install()
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    log_folder.mkdir(parents=True, exist_ok=True)
    with (log_folder / "reference-op.log").open("wb") as log:
        process = subprocess.Popen(
            ["node", "server.mjs"],
            cwd=CACHE,
            env=os.environ | {"PORT": str(port), "ALG": "RS256"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for_discovery(issuer, process)
        yield ReferenceProvider(issuer, process.pid, installed_version())
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_discovery(issuer: str, process: subprocess.Popen[bytes]) -> None:
    url = f"{issuer}/.well-known/openid-configuration"
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url, timeout=(1, 5)).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the reference provider never answered at {url}")
