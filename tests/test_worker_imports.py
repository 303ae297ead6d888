"""Issue 17: a web worker stays within its memory budget after the load (`tests/bench`), so what
granian loads in each worker process (`launcher.web_worker`, and through it `idp.wsgi`'s app)
loads at start-up nothing its requests seldom or never need: alembic for `/readyz`
(`migrations.heads` reads the heads without it), ldap3 before an operator opens the support
console, requests before a back-channel logout is posted, psycopg on SQLite, and none of
`hub run`'s commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ON_FIRST_USE = ("alembic", "ldap3", "requests", "psycopg", "idp.cli")
LOADED = "import json, sys; import launcher.web_worker; print(json.dumps(sorted(sys.modules)))"
# `launcher.web_worker` exits unless its parent's command line names granian: a parent that
# only runs it, named so.
UNDER_GRANIAN = (
    "import subprocess, sys; sys.exit(subprocess.run(sys.argv[2:]).returncode)",
    "as-if-granian",
)


def test_a_web_worker_loads_no_package_it_needs_only_on_first_use(tmp_path):
    # A fresh process on SQLite: none of the test session's modules, nor its HUB_* settings.
    env = {name: value for name, value in os.environ.items() if not name.startswith("HUB_")}
    env["HUB_INSTANCE_PATH"] = str(tmp_path)

    result = subprocess.run(
        [sys.executable, "-c", *UNDER_GRANIAN, sys.executable, "-c", LOADED],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert {"idp.wsgi", "idp.health"} <= loaded  # the app was built, with its readiness probe
    assert [name for name in ON_FIRST_USE if name in loaded] == []
