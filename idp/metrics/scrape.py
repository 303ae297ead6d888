"""`GET /metrics`, for the operator's Prometheus only.

Not public: the request must carry `Authorization: Bearer <HUB_METRICS_TOKEN>`, compared in
constant time; a wrong or missing token gets 401 with a `WWW-Authenticate: Bearer` challenge.
Without a configured token the endpoint does not exist (404, like any unknown path). It reads
no cookie and sets none: it never looks at the browser session nor shows a form.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from hub.clock import utcnow
from idp.extensions import db
from idp.metrics import events
from idp.metrics.database import COLLECTORS
from idp.request_ids import elapsed_seconds
from idp.web.settings import settings_of

bp = Blueprint("metrics", __name__)
log = logging.getLogger(__name__)

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


class _DatabaseFigures:
    """The collectors of `idp.metrics.database`, run in one session at scrape time. A database
    that does not answer costs the scrape its figures, not the counters: `hub_database_up`
    says which."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        figures: list[Metric] = []
        up = True
        try:
            for collector in COLLECTORS:
                figures.extend(collector(self.session, now))
        except SQLAlchemyError:
            log.warning("/metrics: the database's figures could not be read", exc_info=True)
            figures, up = [], False
        finally:
            self.session.rollback()  # a read only: end its transaction
        yield GaugeMetricFamily(
            "hub_database_up",
            "Whether the database answered the scrape's queries (1) or not (0)",
            value=1 if up else 0,
        )
        yield from figures


class _ProcessFigures:
    """This process's own registry, for one process without a multiprocess folder."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def _registry() -> CollectorRegistry:
    """A registry built for this scrape: the counts of every worker (multiprocess mode) or of
    this process, and the database's figures."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get(MULTIPROCESS_VARIABLE):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessFigures())
    registry.register(_DatabaseFigures(db.session))
    return registry


def _authorized(expected: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


@bp.get("/metrics")
def scrape() -> Response:
    expected = settings_of(current_app).metrics_token
    if expected is None:
        abort(404)
    if not _authorized(expected):
        return Response(
            "", 401, headers={"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"}
        )
    body = generate_latest(_registry())
    return Response(
        body, 200, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"}
    )


def _count(response: Response) -> Response:
    """`after_request`: every answer, by endpoint and status, with its time."""
    events.request_answered(request.endpoint, response.status_code, elapsed_seconds())
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.after_request(_count)
