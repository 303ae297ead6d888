"""Fixtures of the deposit engine's tests: a `Deposits` on a migrated database (SQLite, and
PostgreSQL in a schema of its own when it answers), its files in the test's folder; the
consumer is started only by the tests about the queue."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from portals.certificateurs.deposits import service
from portals.certificateurs.deposits.context import Deposits, open_deposits
from portals.certificateurs.deposits.domain import Deposit, PersonRef, StructureRef
from portals.certificateurs.deposits.settings import DepositSettings
from portals.kit.database import make_engine
from tests.conftest import empty_postgres_schema, postgres_unavailable

ALPHA = StructureRef("100001", "Organisme Alpha Formation")
BETA = StructureRef("100002", "Beta Certifications")
TIERS = StructureRef("300001", "Tiers de confiance Gamma")
EMMA = PersonRef("sub-emma", "Emma Leroy")
NOW = datetime(2026, 12, 4, 13, 5, tzinfo=UTC)  # 14:05 in Paris


@pytest.fixture(params=["sqlite", "postgresql"])
def deposits_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'certificateurs.sqlite3'}"
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with empty_postgres_schema("certtest") as url:
        yield url


@pytest.fixture
def engine(deposits_database_url: str) -> Iterator[Engine]:
    engine = make_engine(deposits_database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> DepositSettings:
    return DepositSettings.from_env(tmp_path / "instance", environ={})


@pytest.fixture
def open_ctx(engine: Engine) -> Iterator[Callable[..., Deposits]]:
    opened: list[Deposits] = []

    def open_(settings: DepositSettings, *, consume: bool = False) -> Deposits:
        ctx = open_deposits(engine, settings, consume=consume)
        opened.append(ctx)
        return ctx

    yield open_
    for ctx in opened:
        ctx.queue.stop_consumer()


@pytest.fixture
def ctx(open_ctx: Callable[..., Deposits], settings: DepositSettings) -> Deposits:
    """Deposits without a consumer: what `receive` queues waits."""
    return open_ctx(settings)


@pytest.fixture
def deposit_file(ctx: Deposits) -> Callable[..., Deposit]:
    def deposit(
        content: bytes,
        filename: str = "certifications.csv",
        *,
        certifier: StructureRef = ALPHA,
        depositor: StructureRef | None = None,
        now: datetime = NOW,
        confirm_duplicate: bool = False,
    ) -> Deposit:
        return service.receive(
            ctx,
            stream=io.BytesIO(content),
            filename=filename,
            certifier=certifier,
            depositor=depositor or certifier,
            person=EMMA,
            now=now,
            confirm_duplicate=confirm_duplicate,
        )

    return deposit
