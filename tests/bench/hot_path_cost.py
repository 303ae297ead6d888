"""Where a flow's cost goes (issue 17): the hub in this process (`idp.create_app`, Flask's test
client), alice signed in once, then SSO flows and refresh grants counted by
`tests.idp.oidc.flow_cost.Meter` — statements, transactions and PostgreSQL round trips per flow,
and this process's CPU per endpoint.

The CPU here includes the test client's own work and is not the driver's figure; it shows how
a flow's cost splits between endpoints. The counts are those the budget test bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

import migrations
from hub.clock import utcnow
from hub.config import Settings
from hub.database import make_engine, make_session_factory
from hub.demo import load_demo
from hub.oidc import sessions
from hub.users.models import User
from tests.conftest import LIGHT_HASHING
from tests.idp.oidc.flow_cost import Cost, Meter, MeteredPortal

FLOWS = 100
WARM_UP = 10  # past psycopg's prepare threshold (5), as in a worker that has served a while


@dataclass
class HotPathCost:
    database: str
    dialect: str
    flows: int
    sso: Cost  # FLOWS flows
    refresh: Cost  # FLOWS grants
    one_sso: Cost  # one flow, for its statements
    one_refresh: Cost

    def per_flow(self, cost: Cost) -> dict[str, float]:
        return {
            "statements": len(cost.statements) / self.flows,
            "transactions": cost.transactions / self.flows,
            "round_trips": cost.round_trips(self.dialect) / self.flows,
            "cpu_ms": cost.cpu_ms / self.flows,
        }


def measure(database: str, url: str, instance: Path, flows: int = FLOWS) -> HotPathCost:
    """`flows` SSO flows and as many refresh grants on the database at `url`, migrated here."""
    from idp import create_app
    from idp.extensions import db
    from idp.oidc.signing import key_ring
    from idp.web.sessions import COOKIE_NAME

    migrations.upgrade(url)
    settings = Settings(instance_path=instance, database_url=url, secret_key="bench-secret-key")
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        load_demo(session, now=utcnow(), passwords=LIGHT_HASHING)
        alice = session.scalar(select(User).filter_by(username="alice.martin"))
        signed_in = sessions.start(session, alice, now=utcnow(), lifetimes=settings.oidc)
        session.commit()
    engine.dispose()
    key_ring.reload()  # a cache per process: this database's keys, not the previous one's
    app = create_app(settings)
    try:
        meter = Meter(app)
        browser = app.test_client()
        browser.set_cookie(COOKIE_NAME, signed_in.cookie_value, domain="localhost")
        portal = MeteredPortal(meter, browser, app.test_client())
        refresh_token = portal.sso_flow()["refresh_token"]
        for _ in range(WARM_UP):
            portal.sso_flow()
            refresh_token = portal.refresh_grant(refresh_token)
        with meter.measuring() as one_sso:
            portal.sso_flow()
        with meter.measuring() as one_refresh:
            refresh_token = portal.refresh_grant(refresh_token)
        with meter.measuring() as sso:
            for _ in range(flows):
                portal.sso_flow()
        with meter.measuring() as refresh:
            for _ in range(flows):
                refresh_token = portal.refresh_grant(refresh_token)
        return HotPathCost(database, meter.dialect, flows, sso, refresh, one_sso, one_refresh)
    finally:
        with app.app_context():
            db.engine.dispose()
        key_ring.reload()


def report(costs: list[HotPathCost]) -> str:
    """The counts per flow and the CPU per endpoint, then the statements of one flow."""
    lines = [
        f"\ncost per flow in-process ({costs[0].flows} flows after a warm-up; round trips on "
        "PostgreSQL: statements + BEGIN/COMMIT/ROLLBACK; SQLite has none, its statements shown)",
        f"{'':<26} {'statements':>10} {'transactions':>12} {'round trips':>11} {'CPU ms':>7}"
        "  CPU ms per endpoint",
    ]
    for cost in costs:
        for name, measured in (("SSO flow", cost.sso), ("refresh grant", cost.refresh)):
            figures = cost.per_flow(measured)
            endpoints = ", ".join(
                f"{endpoint} {ms / cost.flows:.2f}" for endpoint, ms in measured.by_endpoint.items()
            )
            trips = f"{figures['round_trips']:.1f}" if cost.dialect == "postgresql" else "–"
            lines.append(
                f"{cost.database + ', ' + name:<26} {figures['statements']:>10.1f} "
                f"{figures['transactions']:>12.1f} {trips:>11} {figures['cpu_ms']:>7.2f}  "
                f"{endpoints}"
            )
    for cost in costs:
        for name, one in (("SSO flow", cost.one_sso), ("refresh grant", cost.one_refresh)):
            lines.append(f"statements of one {name} on {cost.database}:")
            lines.extend(f"  {shortened(statement)}" for statement in one.statements)
    return "\n".join(lines)


def shortened(statement: str, width: int = 200) -> str:
    """One line, long column lists replaced by their count, so that what a statement reads,
    writes and filters on shows."""
    flat = " ".join(statement.split())
    flat = _shorter_select_list(flat)
    flat = re.sub(
        r"^INSERT INTO (\S+) \((.+?)\) VALUES \(.+?\)(?= RETURNING |$)", _insert_lists, flat
    )
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _shorter_select_list(statement: str) -> str:
    """A SELECT's list of more than three items as their count; the items are those at the top
    level (an EXISTS (…) item counts as one, its own FROM is not the statement's)."""
    if not statement.startswith("SELECT "):
        return statement
    depth, items = 0, 1
    for at, character in enumerate(statement):
        depth += {"(": 1, ")": -1}.get(character, 0)
        if depth == 0 and character == ",":
            items += 1
        if depth == 0 and statement.startswith(" FROM ", at):
            if items <= 3:
                return statement
            return f"SELECT <{items} columns> FROM {statement[at + 6 :]}"  # noqa: S608 - shown
    return statement


def _insert_lists(match: re.Match[str]) -> str:
    columns = match[2].count(",") + 1
    return f"INSERT INTO {match[1]} (<{columns} columns>) VALUES (…)"  # noqa: S608 - shown, never run
