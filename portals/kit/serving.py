"""How to serve a portal under gunicorn, for `hub run --demo` (and anyone else): the child
process's argv and environment, its URL and the health URL that says it is ready.

Plain data only: the kit never imports the portals built on it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from portals.kit.config import DEMO_ISSUER


@dataclass(frozen=True)
class ServedPortal:
    code: str
    name: str
    factory: str  # gunicorn's application spec
    demo_port: int

    @property
    def env_prefix(self) -> str:
        return f"{self.code.upper()}_"


DEMO_PORTALS = (
    ServedPortal("soltea", "SOLTÉA", "portals.soltea:create_app()", 5001),
    ServedPortal("certificateurs", "Certificateurs", "portals.certificateurs:create_app()", 5002),
)


@dataclass(frozen=True)
class PortalServer:
    """Everything needed to start one portal and know when it is ready."""

    name: str
    argv: tuple[str, ...]
    env: dict[str, str]  # to add to the parent's environment
    url: str
    health_url: str  # answers 200 with JSON once the portal serves


def portal_server(
    portal: ServedPortal,
    *,
    issuer: str = DEMO_ISSUER,
    instance_root: Path,
    host: str = "127.0.0.1",
    port: int | None = None,
    workers: int = 2,
    python: str = sys.executable,
) -> PortalServer:
    """The portal on `host:port` (its demo port by default), signing in at `issuer`, keeping its
    SQLite file and secret key in `instance_root/<code>`. Client id and secret stay the demo's
    (DESIGN.md §4) unless `<PREFIX>_CLIENT_ID` / `<PREFIX>_CLIENT_SECRET` are set."""
    url = f"http://{host}:{port or portal.demo_port}"
    argv = (
        python, "-m", "gunicorn",
        "--bind", f"{host}:{port or portal.demo_port}",
        "--workers", str(workers),
        "--access-logfile", "-",
        "--graceful-timeout", "5",
        "--no-control-socket",
        portal.factory,
    )  # fmt: skip
    env = {
        f"{portal.env_prefix}ISSUER": issuer,
        f"{portal.env_prefix}BASE_URL": url,
        f"{portal.env_prefix}INSTANCE_PATH": str((instance_root / portal.code).resolve()),
    }
    return PortalServer(portal.name, argv, env, url, f"{url}/healthz")


def demo_portal_servers(
    *, issuer: str = DEMO_ISSUER, instance_root: Path, host: str = "127.0.0.1", workers: int = 2
) -> list[PortalServer]:
    """SOLTÉA on :5001 and Certificateurs on :5002, as the demo clients expect."""
    return [
        portal_server(p, issuer=issuer, instance_root=instance_root, host=host, workers=workers)
        for p in DEMO_PORTALS
    ]
