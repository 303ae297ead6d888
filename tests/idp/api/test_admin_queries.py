"""No N+1 in « Administration » (issue 5, scale): a page of accounts and a renewal of a selection
each cost a fixed number of SQL statements, whatever the number of rows — counted on the app's
engine with SQLAlchemy's `before_cursor_execute` event (an executemany counts once, as it is one
round trip)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from idp.extensions import db
from tests.factories import make_account
from tests.idp.api.demo_accounts import ADMIN, account_of, accounts_url

LISTING_BUDGET = 10
RENEWAL_BUDGET = 14


@pytest.fixture
def alice(bearer):
    return bearer("alice.martin", "soltea")


@contextmanager
def statements_of(app) -> Iterator[list[str]]:
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(_connection, _cursor, statement, _parameters, _context, _executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def add_soltea_accounts(session, now, count: int) -> list[int]:
    bruno = account_of(session, "bruno.petit", "soltea")
    ids = [
        make_account(session, now=now, structure=bruno.structure, portal=bruno.portal).id
        for _ in range(count)
    ]
    session.commit()
    return ids


def test_a_page_of_50_accounts_costs_as_many_statements_as_a_page_of_5(
    app, client, alice, session, now
):
    add_soltea_accounts(session, now, 3)  # 5 with Alice and Bruno
    with statements_of(app) as few:
        small = client.get(accounts_url(portal="soltea"), headers=alice)
    add_soltea_accounts(session, now, 60)
    with statements_of(app) as many:
        full = client.get(accounts_url(portal="soltea"), headers=alice)

    assert (len(small.get_json()["items"]), len(full.get_json()["items"])) == (5, 50)
    assert len(many) == len(few) <= LISTING_BUDGET, many


def test_a_search_costs_the_same_however_many_accounts_match(app, client, alice, session, now):
    add_soltea_accounts(session, now, 60)
    with statements_of(app) as one:
        client.get(accounts_url(portal="soltea"), query_string={"q": "petit"}, headers=alice)
    with statements_of(app) as all_of_them:
        found = client.get(accounts_url(portal="soltea"), query_string={"q": "a"}, headers=alice)

    assert len(found.get_json()["items"]) == 50
    assert len(all_of_them) == len(one) <= LISTING_BUDGET, all_of_them


def test_renewing_50_accounts_costs_as_many_statements_as_renewing_5(
    app, client, alice, session, now
):
    five = add_soltea_accounts(session, now, 5)
    fifty = add_soltea_accounts(session, now, 50)

    with statements_of(app) as few:
        small = client.post(
            f"{ADMIN}/accounts/renew", json={"ids": five, "idempotency_key": "a"}, headers=alice
        )
    with statements_of(app) as many:
        large = client.post(
            f"{ADMIN}/accounts/renew", json={"ids": fifty, "idempotency_key": "b"}, headers=alice
        )

    assert (small.status_code, large.status_code) == (200, 200)
    assert len(many) == len(few) <= RENEWAL_BUDGET, many
