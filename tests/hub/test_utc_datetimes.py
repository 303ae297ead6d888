"""`UTCDateTime`, the type of every datetime column: aware datetimes in, aware UTC datetimes out,
naive ones refused, on both databases. On SQLite the text kept is the one SQLAlchemy's own
DATETIME writes (microseconds always), so that values written by any version of the hub compare
as text in SQL; what SQLite writes itself (`CURRENT_TIMESTAMP`, no fraction) reads back too."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import StatementError

from hub.database import UTCDateTime, make_engine

PARIS = ZoneInfo("Europe/Paris")


def probe_table() -> Table:
    return Table(
        "utc_datetime_probe",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UTCDateTime()),
    )


@pytest.fixture
def probe(engine: Engine) -> Iterator[Table]:
    table = probe_table()
    table.create(engine)
    try:
        yield table
    finally:
        table.drop(engine)


def test_an_aware_datetime_comes_back_as_the_same_instant_in_utc(engine, probe):
    winter = datetime(2026, 12, 5, 9, 30, 0, 123456, tzinfo=PARIS)
    with engine.begin() as connection:
        connection.execute(insert(probe), [{"id": 1, "at": winter}, {"id": 2, "at": None}])
    with engine.connect() as connection:
        rows = dict(connection.execute(select(probe.c.id, probe.c.at)).all())
    assert rows[1] == winter
    assert rows[1].tzinfo is UTC
    assert (rows[1].hour, rows[1].microsecond) == (8, 123456)
    assert rows[2] is None


def test_a_naive_datetime_is_refused(engine, probe):
    with pytest.raises(StatementError) as refused, engine.begin() as connection:
        connection.execute(insert(probe), {"id": 1, "at": datetime(2026, 12, 5, 9, 30)})  # noqa: DTZ001 - naive on purpose
    assert isinstance(refused.value.orig, ValueError)


def test_sqlite_keeps_the_text_sqlalchemy_writes_and_reads_sqlites_own(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'probe.sqlite3'}")
    table = probe_table()
    table.create(engine)
    sqlalchemy_text = sqlite.DATETIME().bind_processor(sqlite.dialect())
    values = [
        datetime(2026, 12, 5, 8, 0, tzinfo=UTC),  # no microseconds: still six digits
        datetime(2026, 12, 5, 8, 0, 0, 7, tzinfo=UTC),
        datetime(2026, 3, 29, 3, 15, tzinfo=PARIS),  # summer time
        datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-5))),
    ]
    with engine.begin() as connection:
        connection.execute(insert(table), [{"id": n, "at": at} for n, at in enumerate(values)])
        connection.execute(text("INSERT INTO utc_datetime_probe VALUES (99, CURRENT_TIMESTAMP)"))
    with engine.connect() as connection:
        stored = dict(connection.execute(text("SELECT id, at FROM utc_datetime_probe")).all())
        read = dict(connection.execute(select(table.c.id, table.c.at)).all())
        later = datetime(2026, 12, 5, 8, 0, 0, 1, tzinfo=UTC)
        before = connection.scalars(select(table.c.id).where(table.c.at < later)).all()
    for n, at in enumerate(values):
        assert stored[n] == sqlalchemy_text(at.astimezone(UTC).replace(tzinfo=None))
        assert read[n] == at
    assert read[99].tzinfo is UTC
    assert abs(read[99] - datetime.now(UTC)) < timedelta(minutes=1)
    assert sorted(before) == [0, 2, 3]
    engine.dispose()
