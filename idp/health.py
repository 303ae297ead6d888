"""Probes for load balancers and `hub run`.

- `/healthz`: the process is alive and answers. It reads no database, so that a database gone
  away does not get every instance restarted by its supervisor: it is the liveness probe.
- `/readyz`: this instance may be sent requests (HAProxy's health check, `hub run`'s wait for
  its servers): the database answers, it is migrated to this code's head, a signing key
  exists, and the instance is not draining (`Settings.drain_file`: `hub run` creates it on
  SIGTERM, so that the balancer stops sending before the servers stop). 200 or 503, with
  each check's state in the JSON body.

What `/readyz` once saw true of the database — at head, keys present — it does not ask again
(a database is not downgraded under a running instance, nor its keys deleted): a ready
instance pays one `SELECT 1` per probe. A failure is never remembered. A freshly migrated
database gets its first signing keys here (`hub.oidc.keys.create_first_keys`, safe with several
instances starting at once), since nothing is sent to an instance before it is ready.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from hub.clock import utcnow
from hub.errors import ConcurrentChange, DatabaseUnavailable
from hub.oidc import keys
from hub.transactions import unit_of_work
from idp.extensions import db
from idp.web.settings import settings_of
from migrations import heads

bp = Blueprint("health", __name__)

EXTENSION = "hub.readiness"
UNREACHABLE = (SQLAlchemyError, DatabaseUnavailable, ConcurrentChange)


@dataclass
class Seen:
    """What `/readyz` found true once, and need not check again (see the module docstring)."""

    at_head: bool = False
    signing_keys: bool = False


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    return jsonify(status="ok"), 200


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    drain_file = settings_of(current_app).drain_file
    draining = drain_file is not None and drain_file.exists()
    checks = _checked(_seen(current_app))
    ready = all(state == "ok" for state in checks.values())
    status = "draining" if draining else "ready" if ready else "not_ready"
    return jsonify(status=status, draining=draining, **checks), 200 if status == "ready" else 503


def _checked(seen: Seen) -> dict[str, str]:
    """Each check's state. A pooled connection the database dropped (a restart) fails once,
    and is thrown away with every older one: the check runs again on a fresh connection, so
    that the first probe after a restart tells the truth."""
    for attempt in (1, 2):
        checks = {"database": "unavailable", "migrations": "unknown", "signing_key": "unknown"}
        try:
            _check(seen, checks)
            return checks
        except UNREACHABLE as error:
            stale = isinstance(error, DBAPIError) and error.connection_invalidated
            if not stale or attempt == 2:
                return checks
        finally:
            db.session.rollback()
    raise AssertionError("unreachable")


def _check(seen: Seen, checks: dict[str, str]) -> None:
    db.session.execute(text("SELECT 1"))
    checks["database"] = "ok"
    if not seen.at_head:
        at = heads.database_heads(db.session.connection())
        seen.at_head = at == heads.script_heads()
    checks["migrations"] = "ok" if seen.at_head else "pending"
    if not seen.at_head:
        return
    if not seen.signing_keys:
        seen.signing_keys = keys.has_signing_keys(db.session) or _create_first_keys()
    checks["signing_key"] = "ok" if seen.signing_keys else "missing"


def _create_first_keys() -> bool:
    db.session.rollback()  # `create_first_keys` begins its own transaction
    with unit_of_work(db.session):
        keys.create_first_keys(db.session, now=utcnow())
    return True


def _seen(app: Flask) -> Seen:
    return app.extensions.setdefault(EXTENSION, Seen())
