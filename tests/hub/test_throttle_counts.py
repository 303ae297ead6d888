"""Counting failed sign-ins in the database (`hub.throttle`): shared by every worker, exact
under concurrency, on SQLite and PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from hub import throttle
from hub.config import Throttling
from hub.throttle import LoginThrottle

LIMITS = Throttling(
    window_minutes=15, delay_after=3, user_lock_after=10, ip_lock_after=5, lock_minutes=15
)


def fail(session, key, now):
    failure = throttle.count_failure(session, key, now=now, throttling=LIMITS)
    session.commit()
    return failure


def test_an_identifiant_is_delayed_from_the_third_failure_growing_to_a_lock(session, now):
    key = throttle.user_key("alice.martin")

    refusals = [fail(session, key, now).refused_until for _ in range(10)]

    assert refusals[:2] == [None, None]
    assert [until - now for until in refusals[2:9]] == [timedelta(seconds=2**n) for n in range(7)]
    assert refusals[9] == now + timedelta(minutes=15)
    assert throttle.refused_until(session, [key], now=now) == now + timedelta(minutes=15)


def test_the_delay_is_capped(session, now):
    limits = Throttling(delay_after=1, user_lock_after=100)
    key = throttle.user_key("alice.martin")

    for _ in range(30):
        last = throttle.count_failure(session, key, now=now, throttling=limits)

    assert last.refused_until == now + throttle.MAX_DELAY
    assert not last.locked


def test_an_address_is_never_delayed_only_locked(session, now):
    key = throttle.ip_key("192.0.2.1")

    failures = [fail(session, key, now) for _ in range(5)]

    assert [f.refused_until for f in failures[:4]] == [None] * 4
    assert failures[4].locked
    assert failures[4].refused_until == now + timedelta(minutes=15)


def test_refused_until_is_the_latest_lock_still_ahead(session, now):
    user, ip = throttle.user_key("bruno.petit"), throttle.ip_key("192.0.2.2")
    for _ in range(3):
        fail(session, user, now)  # delayed 1 s
    for _ in range(5):
        fail(session, ip, now)  # locked 15 min

    assert throttle.refused_until(session, [user], now=now) == now + timedelta(seconds=1)
    assert throttle.refused_until(session, [user, ip], now=now) == now + timedelta(minutes=15)
    assert throttle.refused_until(session, [user], now=now + timedelta(seconds=1)) is None
    assert throttle.refused_until(session, ["user:nobody"], now=now) is None


def test_a_window_that_ran_out_starts_again(session, now):
    key = throttle.user_key("alice.martin")
    for _ in range(2):
        fail(session, key, now)

    again = fail(session, key, now + timedelta(minutes=15))

    assert again.failures == 1
    row = session.get(LoginThrottle, key)
    session.refresh(row)
    assert row.window_started_at == now + timedelta(minutes=15)


def test_clear_forgets_the_failures(session, now):
    key = throttle.user_key("alice.martin")
    for _ in range(3):
        fail(session, key, now)

    throttle.clear(session, key)
    session.commit()

    assert throttle.refused_until(session, [key], now=now) is None
    assert fail(session, key, now).failures == 1


def test_keys_are_normalised_and_storable():
    assert throttle.user_key("  Alice.MARTIN ") == "user:alice.martin"
    assert throttle.user_key("e\u0301") == "user:\u00e9"  # NFC, as find_user compares
    assert throttle.user_key("a\x00b") == "user:ab"
    assert len(throttle.user_key("x" * 10_000)) == len("user:") + throttle.LOGIN_MAX
    assert throttle.ip_key(None) == "ip:unknown"


def test_concurrent_failures_are_all_counted(session_factory, now):
    key = throttle.user_key("alice.martin")
    limits = Throttling(delay_after=1000, user_lock_after=1000)

    def one_failure(_: int) -> None:
        with session_factory() as session:
            throttle.count_failure(session, key, now=now, throttling=limits)
            session.commit()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(one_failure, range(40)))

    with session_factory() as session:
        assert session.get(LoginThrottle, key).failures == 40
