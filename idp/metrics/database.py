"""Figures read from the database when Prometheus scrapes, the same from every instance.

Each entry of `COLLECTORS` reads what it shows with one cheap query, in the scrape's session,
and yields its metric families. A figure about work shared between instances (the outbox, the
logout tokens owed to portals, who holds a background lease) belongs here rather than in a
counter of one process. Add a collector by appending to `COLLECTORS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy.orm import Session

from hub import leases
from hub.mail import outbox
from hub.oidc import logout

DatabaseCollector = Callable[[Session, datetime], Iterable[Metric]]


def mail_outbox(session: Session, now: datetime) -> Iterator[Metric]:
    waiting = outbox.backlog(session)
    yield GaugeMetricFamily(
        "hub_outbox_pending_messages", "Mail waiting in the outbox", value=waiting.pending
    )
    age = 0.0
    if waiting.oldest_created_at is not None:
        age = max((now - waiting.oldest_created_at).total_seconds(), 0.0)
    yield GaugeMetricFamily(
        "hub_outbox_oldest_pending_age_seconds",
        "Age of the oldest mail waiting in the outbox (0 when none waits)",
        value=age,
    )


def logout_deliveries(session: Session, now: datetime) -> Iterator[Metric]:
    owed = logout.backlog(session)
    yield GaugeMetricFamily(
        "hub_backchannel_logout_pending",
        "Back-channel logout tokens not yet accepted by their portal",
        value=owed.pending,
    )
    yield GaugeMetricFamily(
        "hub_backchannel_logout_failing",
        "Pending back-channel logout tokens a portal refused or did not answer at least once",
        value=owed.failing,
    )


def lease_holders(session: Session, now: datetime) -> Iterator[Metric]:
    held = GaugeMetricFamily(
        "hub_lease_holder",
        "1 for the instance holding each background lease (hub.leases); none: nobody runs it",
        labels=["lease", "holder"],
    )
    seconds = GaugeMetricFamily(
        "hub_lease_held_seconds",
        "How long the current holder has held each background lease",
        labels=["lease"],
    )
    for lease in leases.holders(session, now=now):
        held.add_metric([lease.name, lease.holder], 1)
        seconds.add_metric([lease.name], max((now - lease.acquired_at).total_seconds(), 0.0))
    yield held
    yield seconds


COLLECTORS: list[DatabaseCollector] = [mail_outbox, logout_deliveries, lease_holders]
