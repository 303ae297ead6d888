"""What each of the hub's web worker processes loads (granian's target, `launcher.web_server`):
the WSGI app (`idp.wsgi`), in a process that dies with the web server's main process.

gunicorn's workers notice that their master is gone and exit; granian's do not, and a worker
left behind keeps serving on the port. So each worker asks the kernel for SIGKILL when its
parent dies (Linux): it has nothing left to finish by then, the main process having waited for
it on any orderly stop. `hub run` itself has the main process killed when it dies.
"""

from __future__ import annotations

import ctypes
import gc
import os
import signal
import sys
from pathlib import Path

from launcher.parent_death import PR_SET_PDEATHSIG

if sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL))
    parent = Path(f"/proc/{os.getppid()}/cmdline")
    if b"granian" not in (parent.read_bytes() if parent.exists() else b""):
        os._exit(1)  # the main process died before the kernel was told

# Imported once the process is bound to its parent.
from idp.wsgi import app

# What the import built (modules, the app, its compiled statements) lives as long as the
# process: the collector's full passes need not scan it again. Without this, one full pass over
# those 150,000 objects cost 0.1 s of CPU every thousand or so sign-ons (measured, issue 17).
gc.freeze()

__all__ = ["app"]
