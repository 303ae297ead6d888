"""The protocol's unit of work on a connection of its own (`idp.oidc.transactions.answered` over
`hub.transactions.on_connection`, issue 17): the hot path's statements take the connection,
and what goes through the ORM session inside it — a refusal's audit event, a cache's reload —
joins the same transaction, so that the request still completes its change or changes nothing
(issue 13's policy), on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import (
    Integer,
    bindparam,
    column,
    event,
    func,
    insert,
    select,
    table,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from hub.actors import System
from hub.audit.models import AuditEvent
from hub.audit.services import refusal
from hub.compiled import CompiledStatement
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


def answered_failing(
    app, work, error: type[Exception] = ValueError, match: str | None = None
) -> None:
    """`answered(work)` in a request, which must fail with `error`."""
    with app.test_request_context(), pytest.raises(error, match=match):
        answered(work)


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

    answered_failing(app, work, match="the request fails")

    assert rows(probe) == 0


def test_a_refusal_leaves_no_change_but_its_audit_event(app, probe):
    def work() -> None:
        connection().execute(INSERT, {"n": 1})
        raise refusal(System("test"), "test.unit")

    answered_failing(app, work, NotAllowed)

    assert rows(probe) == 0
    assert refused_attempts(probe) == 1


def test_a_lost_race_runs_again_on_fresh_data_and_nothing_of_the_first_try_stays(app, probe):
    seen = []  # the rows each try finds before it writes

    def work() -> int:
        seen.append(connection().execute(ROWS).scalar_one())
        connection().execute(INSERT, {"n": len(seen)})
        if len(seen) == 1:
            raise ConcurrentChange()
        return len(seen)

    with app.test_request_context():
        assert answered(work) == 2

    assert seen == [0, 0]  # the second try does not find the first one's row
    assert rows(probe) == 1


def test_the_session_is_usable_after_the_unit_on_a_transaction_of_its_own(app, probe):
    with app.test_request_context():
        answered(lambda: connection().execute(INSERT, {"n": 1}))
        assert db.session.execute(ROWS).scalar_one() == 1
        with pytest.raises(RuntimeError):
            connection()


# A unit's sole write (`hub.compiled`'s `sole_write`, `hub.database.SOLE_WRITE`): when it comes
# first, it commits by itself — no BEGIN, no COMMIT — and the unit may write nothing after it;
# anywhere else it is part of the unit's transaction like any write.
PROBE = table("unit_probe", column("n", Integer))
SOLE_INSERT = CompiledStatement(insert(PROBE).values(n=bindparam("n")))
SOLE_UPDATE = CompiledStatement(update(PROBE).where(PROBE.c.n == bindparam("old")).values(n=0))


def test_a_sole_write_that_comes_first_commits_by_itself(app, probe):
    def work() -> None:
        SOLE_INSERT.execute(connection(), {"n": 1}, sole_write=True)
        raise ValueError("the request fails after its only write")

    answered_failing(app, work, match="after its only write")

    assert rows(probe) == 1


def test_nothing_may_be_written_after_a_sole_write_that_changed_a_row(app, probe):
    def work() -> None:
        SOLE_INSERT.execute(connection(), {"n": 1}, sole_write=True)
        db.session.execute(INSERT, {"n": 2})

    answered_failing(app, work, RuntimeError, match="after the unit's sole")

    assert rows(probe) == 1


def test_a_sole_write_after_another_write_is_part_of_the_transaction(app, probe):
    def work() -> None:
        connection().execute(INSERT, {"n": 1})
        SOLE_INSERT.execute(connection(), {"n": 2}, sole_write=True)
        raise ValueError("the request fails")

    answered_failing(app, work, match="the request fails")

    assert rows(probe) == 0


def test_a_sole_write_that_changed_nothing_leaves_the_next_writes_to_a_transaction(app, probe):
    def work() -> None:  # a guarded write that lost its race, then the revocation that follows
        assert SOLE_UPDATE.execute(connection(), {"old": 7}, sole_write=True) == 0
        connection().execute(INSERT, {"n": 1})
        db.session.execute(INSERT, {"n": 2})
        raise ValueError("the request fails")

    answered_failing(app, work, match="the request fails")

    assert rows(probe) == 0


# The driver's cursor (`hub.compiled._cursor`): on PostgreSQL the hot path's statements share
# one per connection (making one costs a quarter of a look-up); a failed statement, or a
# connection replaced after a disconnect, never leaves the next statements a broken one.
COUNT = CompiledStatement(select(func.count()).select_from(PROBE))


def cursors_of(work) -> list[object]:
    """The cursors the statements of `work` ran on, in order."""
    seen: list[object] = []

    def on_statement(_conn, cursor, *_args) -> None:
        seen.append(cursor)

    event.listen(db.engine, "before_cursor_execute", on_statement)
    try:
        work()
    finally:
        event.remove(db.engine, "before_cursor_execute", on_statement)
    return seen


def count() -> int:
    return answered(lambda: COUNT.first(connection(), {})[0])


def test_the_hot_path_statements_share_a_cursor_on_postgresql_alone(app, probe):
    def work() -> None:
        SOLE_INSERT.execute(connection(), {"n": 1})
        assert COUNT.first(connection(), {})[0] == 1

    with app.test_request_context():
        first, second = cursors_of(lambda: answered(work))

    assert (first is second) is (probe.dialect.name == "postgresql")
    assert rows(probe) == 1


def test_a_failed_statement_leaves_the_next_unit_a_working_cursor(app, probe):
    def fails() -> None:
        SOLE_INSERT.execute(connection(), {"n": None})  # NOT NULL

    answered_failing(app, fails, IntegrityError)

    with app.test_request_context():
        answered(lambda: SOLE_INSERT.execute(connection(), {"n": 2}))
        assert count() == 1


def test_a_replaced_connection_gets_a_cursor_of_its_own(app, probe):
    with app.test_request_context():
        (before,) = cursors_of(count)
        db.engine.dispose()  # every pooled connection closed, as after a restart
        (after,) = cursors_of(count)
        answered(lambda: SOLE_INSERT.execute(connection(), {"n": 3}))
        assert count() == 1

    assert after is not before
