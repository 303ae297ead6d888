"""Throttling of the sign-in page (issue 3 §6): a growing delay after a few failures, then a
temporary lock, per identifiant and per address, with the same generic answer whether or not
the identifiant exists. Time travels; nothing sleeps."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from hub.config import Throttling
from idp.auth.forms import TOO_MANY_ATTEMPTS, WRONG_CREDENTIALS
from idp.web.sessions import COOKIE_NAME
from tests.idp.signing_in import audit_events, comparable, submit_login

LIMITS = Throttling(
    window_minutes=15, delay_after=3, user_lock_after=6, ip_lock_after=8, lock_minutes=15
)
WRONG = "not-the-password"


@pytest.fixture
def settings(settings):
    return replace(settings, throttling=LIMITS)


@pytest.fixture
def clock(time_machine, now):
    """Moves the frozen present forward by the given timedelta."""
    current = [now]
    time_machine.move_to(now, tick=False)

    def advance(delta: timedelta) -> None:
        current[0] += delta
        time_machine.move_to(current[0], tick=False)

    return advance


def refused(response) -> bool:
    if response.status_code != 429:
        return False
    assert WRONG_CREDENTIALS in response.text
    assert TOO_MANY_ATTEMPTS in response.text
    assert COOKIE_NAME not in response.headers.get("Set-Cookie", "")
    return True


def test_a_growing_delay_after_three_failures_then_a_lock(client, clock, demo):
    for _ in range(2):
        assert submit_login(client, "alice.martin", WRONG).status_code == 200
    third = submit_login(client, "alice.martin", WRONG)
    assert third.status_code == 200
    assert TOO_MANY_ATTEMPTS not in third.text

    too_soon = submit_login(client, "alice.martin")  # the right password is not even checked
    assert refused(too_soon)
    assert too_soon.headers["Retry-After"] == "1"

    for delay in (1, 2, 4):  # 2^(n - 3) seconds after the n-th failure
        clock(timedelta(seconds=delay) - timedelta(milliseconds=1))
        assert refused(submit_login(client, "alice.martin", WRONG))
        clock(timedelta(milliseconds=1))
        assert submit_login(client, "alice.martin", WRONG).status_code == 200

    locked = submit_login(client, "alice.martin")  # sixth failure above: locked 15 minutes
    assert refused(locked)
    assert locked.headers["Retry-After"] == str(15 * 60)
    clock(timedelta(minutes=14, seconds=59))
    assert refused(submit_login(client, "alice.martin"))
    clock(timedelta(seconds=1))
    assert submit_login(client, "alice.martin").status_code == 303


def test_unknown_identifiants_are_throttled_exactly_alike(app, clock, demo):
    def attempts(login: str, address: str) -> list[tuple[int, str]]:
        client = app.test_client()
        answers = []
        for _ in range(8):
            response = submit_login(client, login, WRONG, address=address)
            answers.append((response.status_code, comparable(response.text)))
        return answers

    known = attempts("alice.martin", "192.0.2.1")
    unknown = attempts("personne.inconnue", "192.0.2.2")

    assert [status for status, _ in known] == [200, 200, 200, 429, 429, 429, 429, 429]
    assert known == unknown


def test_a_success_clears_the_identifiant_count_but_not_the_address_count(client, clock, demo):
    for _ in range(2):
        submit_login(client, "alice.martin", WRONG, address="192.0.2.10")
    assert submit_login(client, "alice.martin", address="192.0.2.10").status_code == 303

    for _ in range(3):  # counted from zero again: no delay before this third failure
        assert submit_login(client, "alice.martin", WRONG, address="192.0.2.10").status_code == 200
    assert refused(submit_login(client, "alice.martin", address="192.0.2.10"))

    # 5 failures from 192.0.2.10: three more (on other identifiants) lock the address.
    for login in ("x1", "x2"):
        assert submit_login(client, login, WRONG, address="192.0.2.10").status_code == 200
    assert submit_login(client, "x3", WRONG, address="192.0.2.10").status_code == 200
    assert refused(submit_login(client, "bruno.petit", address="192.0.2.10"))


def test_an_address_spraying_identifiants_is_locked_out(client, clock, session, demo):
    for n in range(LIMITS.ip_lock_after):
        assert submit_login(client, f"personne{n}", WRONG, address="203.0.113.7").status_code == 200

    assert refused(submit_login(client, "alice.martin", address="203.0.113.7"))
    assert submit_login(client, "alice.martin", address="198.51.100.4").status_code == 303
    clock(timedelta(minutes=15))
    assert submit_login(client, "bruno.petit", address="203.0.113.7").status_code == 303
    [lock] = audit_events(session, "session.sign_in_locked")
    assert lock.after["key"] == "ip:203.0.113.7"
    assert lock.after["failures"] == LIMITS.ip_lock_after


def test_failures_outside_the_window_are_forgotten(client, clock, demo):
    for _ in range(2):
        submit_login(client, "alice.martin", WRONG)
    clock(timedelta(minutes=15))

    for _ in range(2):
        assert submit_login(client, "alice.martin", WRONG).status_code == 200
    assert submit_login(client, "alice.martin").status_code == 303


def test_the_identifiant_counter_ignores_case_and_spaces(client, clock, demo):
    for login in ("alice.martin", "Alice.Martin", " ALICE.MARTIN "):
        submit_login(client, login, WRONG)

    assert refused(submit_login(client, "alice.martin"))


def test_throttled_attempts_and_locks_are_audited(client, clock, session, demo):
    for _ in range(3):
        submit_login(client, "alice.martin", WRONG, address="192.0.2.20")

    submit_login(client, "alice.martin", address="192.0.2.20")

    assert len(audit_events(session, "session.sign_in_failed")) == 3
    [throttled] = audit_events(session, "session.sign_in_throttled")
    assert throttled.actor == "anonyme"
    assert throttled.after["identifiant"] == "alice.martin"
    assert throttled.after["ip"] == "192.0.2.20"
    assert audit_events(session, "session.sign_in") == []

    for _ in range(3):  # failures 4 to 6, each after its delay: the sixth locks
        clock(timedelta(minutes=1))
        submit_login(client, "alice.martin", WRONG, address="192.0.2.20")
    [lock] = audit_events(session, "session.sign_in_locked")
    assert lock.after["key"] == "user:alice.martin"
    assert lock.target == "alice.martin"
