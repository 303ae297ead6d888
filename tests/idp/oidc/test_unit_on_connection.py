"""The protocol's unit of work on a connection of its own (`idp.oidc.transactions.answered` over
`hub.transactions.on_connection`, issue 17): the hot path's statements take the connection,
and what goes through the ORM session inside it — a refusal's audit event, a cache's reload —
joins the same transaction, so that the request still completes its change or changes nothing
(issue 13's policy), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from hub.actors import System
from hub.audit.models import AuditEvent
from hub.audit.services import refusal
from hub.errors import ConcurrentChange, NotAllowed
from idp.extensions import db
from idp.oidc.transactions import answered, connection

ROWS = text("SELECT count(*) FROM unit_probe")
INSERT = text("INSERT INTO unit_probe (n) VALUES (:n)")


@pytest.fixture
def probe(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE unit_probe (n INTEGER NOT NULL)"))
    yield engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE unit_probe"))


def rows(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(ROWS).scalar_one()


def refused_attempts(engine) -> int:
    with engine.connect() as conn:
        action = AuditEvent.action == "test.unit.refused"
        return conn.execute(select(func.count()).select_from(AuditEvent).where(action)).scalar_one()


def test_the_session_joins_the_connection_and_both_commit_together(app, probe):
    def work() -> bool:
        connection().execute(INSERT, {"n": 1})
        db.session.execute(INSERT, {"n": 2})  # would wait for SQLite's lock on another connection
        return db.session.connection() is connection()

    with app.test_request_context():
        assert answered(work) is True

    assert rows(probe) == 2


def test_an_error_rolls_back_what_both_wrote(app, probe):
    def work() -> None:
        connection().execute(INSERT, {"n": 1})
        db.session.execute(INSERT, {"n": 2})
        raise ValueError("the request fails")

    with app.test_request_context(), pytest.raises(ValueError, match="the request fails"):
        answered(work)

    assert rows(probe) == 0


def test_a_refusal_leaves_no_change_but_its_audit_event(app, probe):
    def work() -> None:
        connection().execute(INSERT, {"n": 1})
        raise refusal(System("test"), "test.unit")

    with app.test_request_context(), pytest.raises(NotAllowed):
        answered(work)

    assert rows(probe) == 0
    assert refused_attempts(probe) == 1


def test_a_lost_race_runs_again_on_fresh_data_and_nothing_of_the_first_try_stays(app, probe):
    tries = []

    def work() -> int:
        connection().execute(INSERT, {"n": len(tries)})
        tries.append(connection())
        if len(tries) == 1:
            raise ConcurrentChange()
        return len(tries)

    with app.test_request_context():
        assert answered(work) == 2

    assert rows(probe) == 1
    assert tries[0] is not tries[1]


def test_the_session_is_usable_after_the_unit_on_a_transaction_of_its_own(app, probe):
    with app.test_request_context():
        answered(lambda: connection().execute(INSERT, {"n": 1}))
        assert db.session.execute(ROWS).scalar_one() == 1
        with pytest.raises(RuntimeError):
            connection()
