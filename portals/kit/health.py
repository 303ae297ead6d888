"""`/healthz`: whether this portal instance can serve (its own database), for load balancers and
`hub run`. The hub's health is the hub's: a portal with the hub down still answers pages."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from portals.kit.database import database_answers
from portals.kit.extension import kit

bp = Blueprint("kit_health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    healthy = database_answers(kit().engine)
    body = {
        "status": "ok" if healthy else "degraded",
        "portal": kit().config.code,
        "database": "ok" if healthy else "unavailable",
    }
    return jsonify(body), 200 if healthy else 503
