"""gunicorn's settings for the hub (`gunicorn -c python:launcher.gunicorn_conf`), for what its
command line cannot say:
- a worker that exits is marked dead for `/metrics`: the counts it left in
  `PROMETHEUS_MULTIPROC_DIR` stay summed, its live gauges stop counting (prometheus-client's
  multiprocess mode, `idp.metrics`);
- with `HUB_LOG_FORMAT=json`, gunicorn's own messages (workers booting, timing out) are JSON
  lines like the app's (`idp.logs`). The root logger is left without a handler here: each
  worker's app puts its own there, once."""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import multiprocess

if os.environ.get("HUB_LOG_FORMAT", "").strip().lower() == "json":
    logconfig_dict = {
        "root": {"level": "INFO", "handlers": []},
        "loggers": {
            "gunicorn.error": {
                "level": "INFO",
                "handlers": ["json"],
                "propagate": False,
                "qualname": "gunicorn.error",
            },
        },
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            },
        },
        "formatters": {"json": {"()": "idp.logs.JsonFormatter"}},
    }


def child_exit(_server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
