"""A portal's configuration, read from environment variables with the portal's prefix
(`SOLTEA_ISSUER`, `CERTIFICATEURS_CLIENT_SECRET`, …).

The defaults are DESIGN.md §4's demo values, so `make run` needs no set-up; production sets the
issuer, client credentials and base URL explicitly. The secret key is generated on first start
and kept in the instance folder (never committed), like the hub's.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

DEMO_ISSUER = "http://127.0.0.1:5000"
DEFAULT_CLAIMS_MAX_AGE = 60  # seconds: rights and expiry reach the portal within a minute
DEFAULT_HUB_TIMEOUT = 5.0  # seconds for any call to the hub


@dataclass(frozen=True)
class PortalIdentity:
    """What a portal package says about itself: its code (also its demo client id and the
    prefix of its variables), its name as people read it, and its demo address."""

    code: str
    name: str
    demo_base_url: str

    @property
    def env_prefix(self) -> str:
        return f"{self.code.upper()}_"


def _bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class PortalConfig:
    code: str
    name: str
    issuer: str
    client_id: str
    client_secret: str
    base_url: str
    instance_path: Path
    database_url: str
    secret_key: str
    cookie_secure: bool
    claims_max_age: int = DEFAULT_CLAIMS_MAX_AGE
    hub_timeout: float = DEFAULT_HUB_TIMEOUT

    @classmethod
    def from_env(
        cls,
        portal: PortalIdentity,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> PortalConfig:
        """Reads `<PREFIX>_*` variables; keyword overrides win (tests). Empty values count as
        unset, so `SOLTEA_SECRET_KEY=` still gets the generated key."""
        env = os.environ if environ is None else environ
        known = {f.name for f in fields(cls)}
        unknown = set(overrides) - known
        if unknown:
            raise TypeError(f"unknown portal settings: {', '.join(sorted(unknown))}")

        def get(name: str, default: str) -> str:
            return env.get(portal.env_prefix + name) or default

        base_url = get("BASE_URL", portal.demo_base_url).rstrip("/")
        instance_path = Path(get("INSTANCE_PATH", str(Path.cwd() / "instance" / portal.code)))
        secure = env.get(portal.env_prefix + "COOKIE_SECURE")
        config = cls(
            code=portal.code,
            name=portal.name,
            issuer=get("ISSUER", DEMO_ISSUER).rstrip("/"),
            client_id=get("CLIENT_ID", portal.code),
            client_secret=get("CLIENT_SECRET", f"{portal.code}-dev-secret"),
            base_url=base_url,
            instance_path=instance_path,
            database_url=get("DATABASE_URL", ""),
            secret_key=get("SECRET_KEY", ""),
            cookie_secure=_bool(secure) if secure else base_url.startswith("https://"),
            claims_max_age=int(get("CLAIMS_MAX_AGE", str(DEFAULT_CLAIMS_MAX_AGE))),
            hub_timeout=float(get("HUB_TIMEOUT", str(DEFAULT_HUB_TIMEOUT))),
        )
        return replace(config, **overrides).with_defaults()

    def with_defaults(self) -> PortalConfig:
        """Fills the SQLite file and the secret key, both kept in the instance folder."""
        database_url = self.database_url or (
            f"sqlite:///{self.instance_path / f'{self.code}.sqlite3'}"
        )
        return replace(
            self,
            database_url=database_url,
            secret_key=self.secret_key or stored_secret(self.instance_path / "secret_key"),
        )

    @property
    def cookie_name(self) -> str:
        """Distinct per portal: every app of the demo shares the host 127.0.0.1."""
        return f"{self.code}_session"

    @property
    def redirect_uri(self) -> str:
        return f"{self.base_url}/auth/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        return f"{self.base_url}/"

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def api_url(self) -> str:
        return f"{self.issuer}/api/v1"


def stored_secret(path: Path) -> str:
    """The key kept at `path`, generated on first use. Several gunicorn workers may start at
    once: the key is written to a temporary file and linked into place, so every worker reads
    the one complete key that won."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(candidate, path)
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    return path.read_text().strip()
