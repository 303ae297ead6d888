"""Whether a database is at the migrations' head, answered without alembic: what `/readyz`
asks once per web worker (`idp.health`). Importing alembic (with mako and pygments) for that
one question would cost every web worker memory it never uses again; the command line and the
tests, which migrate, import it (`migrations.upgrade`).

The answers are alembic's own (tests/test_migrations.py compares them):
- `script_heads`: the revisions no other revision names as its `down_revision`
  (`ScriptDirectory.get_heads()`). The revision files are read, not imported: importing one
  imports alembic.
- `database_heads`: the rows of alembic's version table, none while it does not exist
  (`MigrationContext.get_current_heads()`).
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import column, inspect, select, table
from sqlalchemy.engine import Connection

VERSIONS = Path(__file__).resolve().parent / "versions"
VERSION_TABLE = table("alembic_version", column("version_num"))
# The files alembic reads as revisions: every module of the directory but a package's
# `__init__` and an editor's lock file (`.#…`).
SKIPPED_PREFIXES = ("__init__", ".#")


def script_heads(versions: Path = VERSIONS) -> frozenset[str]:
    """The revisions a database at head carries: those no other revision builds on."""
    revisions: set[str] = set()
    built_on: set[str] = set()
    for path in sorted(versions.glob("*.py")):
        if path.name.startswith(SKIPPED_PREFIXES):
            continue
        revision, down_revisions = _read_revision(path)
        revisions.add(revision)
        built_on.update(down_revisions)
    return frozenset(revisions - built_on)


def _read_revision(path: Path) -> tuple[str, tuple[str, ...]]:
    """The `revision` of a revision file and the revisions it follows: none for the first,
    one, or several for a merge (`down_revision` is None, a string, or a tuple)."""
    values = _assigned_literals(path, names={"revision", "down_revision"})
    if not isinstance(values.get("revision"), str) or "down_revision" not in values:
        raise ValueError(f"{path}: not an alembic revision (no `revision`, `down_revision`)")
    down_revision = values["down_revision"]
    if down_revision is None:
        return values["revision"], ()
    if isinstance(down_revision, str):
        return values["revision"], (down_revision,)
    return values["revision"], tuple(down_revision)


def _assigned_literals(path: Path, *, names: set[str]) -> dict[str, object]:
    """The literal values the module at `path` assigns to `names` at its top level, with or
    without a type annotation (`revision: str = "…"`, as newer alembic templates write)."""
    values: dict[str, object] = {}
    for statement in ast.parse(path.read_text(encoding="utf-8"), filename=str(path)).body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            values[target.id] = ast.literal_eval(value)
    return values


def database_heads(connection: Connection) -> frozenset[str]:
    """The revisions the database on `connection` is at (none before its first migration).

    The version table is looked up before it is read, rather than a failed SELECT caught: on
    PostgreSQL, a failed statement aborts the transaction it ran in."""
    if not inspect(connection).has_table(VERSION_TABLE.name):
        return frozenset()
    return frozenset(connection.scalars(select(VERSION_TABLE.c.version_num)))
