"""Certificateurs' own deposit settings, read from `CERTIFICATEURS_*` variables like the kit's
`PortalConfig` (empty values count as unset), so that `make run` needs none of them:

- `CERTIFICATEURS_DEPOSITS_PATH`: where deposited files are kept (default `<instance>/deposits`);
- `CERTIFICATEURS_DEPOSIT_MAX_BYTES`: the upload limit (default 50 Mo);
- `CERTIFICATEURS_QUEUE_URL`: the job queue; by default Huey's SQLite storage in
  `<instance>/queue.sqlite3` (no server), `redis://host:6379/N` for Huey on Redis when the
  portal runs on several machines;
- `CERTIFICATEURS_QUEUE_NAME`: the queue's name (two deployments may share one Redis);
- `CERTIFICATEURS_QUEUE_WORKERS`: consumer threads in each portal process (default 1; 0 when
  a separate `python -m portals.certificateurs.deposits` process consumes the queue);
- `CERTIFICATEURS_DEPOSIT_LEASE_SECONDS`: how long a consumer holds a deposit without news
  before another one may take it up (default 30 s; restart safety).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PREFIX = "CERTIFICATEURS_"
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_QUEUE_NAME = "certificateurs-deposits"
DEFAULT_LEASE_SECONDS = 30.0


@dataclass(frozen=True)
class DepositSettings:
    deposits_path: Path
    max_bytes: int
    queue_url: str
    queue_name: str = DEFAULT_QUEUE_NAME
    queue_workers: int = 1
    lease_seconds: float = DEFAULT_LEASE_SECONDS

    @classmethod
    def from_env(
        cls, instance_path: Path, environ: Mapping[str, str] | None = None
    ) -> DepositSettings:
        env = os.environ if environ is None else environ

        def get(name: str, default: str) -> str:
            return env.get(PREFIX + name) or default

        return cls(
            deposits_path=Path(get("DEPOSITS_PATH", str(instance_path / "deposits"))),
            max_bytes=int(get("DEPOSIT_MAX_BYTES", str(DEFAULT_MAX_BYTES))),
            queue_url=get("QUEUE_URL", f"sqlite:///{instance_path / 'queue.sqlite3'}"),
            queue_name=get("QUEUE_NAME", DEFAULT_QUEUE_NAME),
            queue_workers=int(get("QUEUE_WORKERS", "1")),
            lease_seconds=float(get("DEPOSIT_LEASE_SECONDS", str(DEFAULT_LEASE_SECONDS))),
        )

    @property
    def uses_redis(self) -> bool:
        return self.queue_url.startswith(("redis://", "rediss://", "unix://"))
