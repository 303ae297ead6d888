"""How the hub's web app is served: granian (a Rust HTTP server) with worker processes that run
the WSGI app (`launcher.web_worker`: `idp.wsgi`'s app, in a process that dies with granian's).

Why granian rather than gunicorn: on the protocol's hot path, HTTP parsing, the WSGI environ and
the response's headers cost a pure-Python server about as much as the hub's own work on a
request; granian does them in Rust (issue 17: about a fifth of the server's CPU per sign-on, and
as much more throughput, measured side by side by `make bench`). The portals, whose speed
matters less, stay under gunicorn.

Measured the same as these settings, within the machine's noise (issue 17, 2 to 4 alternations
of SSO flows on SQLite): granian's single-threaded runtime (`--runtime-mode st`), HTTP/1 only,
1 or 4 blocking threads instead of 2, one worker instead of two (a little less CPU per flow, a
lower rate), and uWSGI's HTTP/1.1 socket with 2 threads per process.

What the settings below keep of the production topology (README « Production »):
- each worker process serves `THREADS` requests at once: granian hands a connection to a worker
  whether or not it is busy, so a quick request (a portal fetching the JWKS) must not wait
  behind a slow one in the same process (a password hash, the single-logout page waiting for the
  portals);
- SIGTERM stops it gracefully: it stops accepting, finishes the requests in flight (at most
  `STOP_SECONDS`), then exits; a worker that dies is started again;
- `/metrics` sums the counts of every worker process, dead ones included
  (`idp.metrics.scrape` notices the dead ones);
- granian's access log is off: the app writes each request's line itself (`idp.logs`), with
  the path it may show (no query string, no single-use link token — granian's line had the
  token) and the request id; with `HUB_LOG_FORMAT=json` granian's own messages are JSON lines
  like the app's (`JSON_LOGGING`).
"""

from __future__ import annotations

import sys
from pathlib import Path

THREADS = 2
STOP_SECONDS = 5
JSON_LOGGING = Path(__file__).with_name("granian_json_logging.json")


def argv(host: str, port: int, workers: int, *, json_logs: bool) -> list[str]:
    """The command that serves the hub on `host:port` with `workers` processes."""
    logs = ["--log-config", str(JSON_LOGGING)] if json_logs else ["--no-access-log"]
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--blocking-threads",
        str(THREADS),
        "--no-ws",
        "--respawn-failed-workers",
        "--workers-kill-timeout",
        str(STOP_SECONDS),
        *logs,
        "launcher.web_worker:app",
    ]
