"""The protocol's hot path stays lean (a handful of indexed statements per request, whatever
the data) and single use holds when a portal, or a thief, sends the same code or refresh
token twice at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from idp.extensions import db

DATA_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@pytest.fixture
def statements(app) -> Callable[[], Any]:
    """A context manager listing the data statements the app runs meanwhile."""
    with app.app_context():
        engine = db.engine

    @contextmanager
    def recording() -> Iterator[list[str]]:
        seen: list[str] = []

        def record(_conn, _cursor, statement, *_args) -> None:
            if statement.lstrip().upper().startswith(DATA_STATEMENTS):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return recording


def test_each_step_of_a_sign_in_runs_a_few_statements(soltea_rp, sign_in_as, client, statements):
    sign_in_as(client, "alice.martin")
    soltea_rp.sign_in()  # the portal is now linked to the session, its client known

    with statements() as authorize:
        code, authorization = soltea_rp.code()
    with statements() as exchange:
        tokens = soltea_rp.exchange(code, authorization.verifier).get_json()
    with statements() as userinfo:
        soltea_rp.userinfo(tokens["access_token"])
    with statements() as refresh:
        assert soltea_rp.refresh(tokens["refresh_token"]).status_code == 200

    # session, R5, portal link, code | code, R5, redeem, tokens | token, accounts |
    # token, R5, retire, tokens
    assert (len(authorize), len(exchange), len(userinfo), len(refresh)) == (4, 4, 2, 4), (
        authorize,
        exchange,
        userinfo,
        refresh,
    )


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Runs the calls in threads released together; returns their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_a_code_sent_twice_at_once_gives_tokens_once_and_then_revokes_them(
    app, soltea_rp, sign_in_as, client
):
    sign_in_as(client, "alice.martin")
    code, authorization = soltea_rp.code()
    portals = [soltea_rp.__class__("soltea", client, app.test_client()) for _ in range(2)]

    responses = at_once(*(lambda p=p: p.exchange(code, authorization.verifier) for p in portals))

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 400]
    winner = next(r for r in responses if r.status_code == 200).get_json()
    assert soltea_rp.userinfo(winner["access_token"]).status_code == 401


def test_a_refresh_token_sent_twice_at_once_rotates_once_and_revokes_the_family(
    app, soltea_rp, sign_in_as, client
):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()
    portals = [soltea_rp.__class__("soltea", client, app.test_client()) for _ in range(2)]

    responses = at_once(*(lambda p=p: p.refresh(tokens["refresh_token"]) for p in portals))

    assert sorted(response.status_code for response in responses) == [200, 400]
    winner = next(r for r in responses if r.status_code == 200).get_json()
    assert soltea_rp.refresh(winner["refresh_token"]).get_json()["error"] == "invalid_grant"
