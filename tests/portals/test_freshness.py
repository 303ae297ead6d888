"""Freshness of a sign-in: claims older than `claims_max_age`, or an access token about to
expire, are renewed before the request; refresh tokens rotate, so one request of a browser
refreshes at a time (a refresh token presented twice would end the whole sign-in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from portals.kit.auth.freshness import is_stale
from portals.kit.extension import EXTENSION
from portals.kit.sessions import store
from tests.portals.conftest import account, claims, sign_in

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def a_sign_in(*, claims_age: timedelta, token_left: timedelta) -> store.SignIn:
    return store.SignIn(
        sid="s",
        sub="u",
        access_token="a",
        refresh_token="r",
        id_token="i",
        access_expires_at=NOW + token_left,
        claims={"sub": "u"},
        claims_read_at=NOW - claims_age,
    )


def test_claims_read_within_the_minute_are_fresh():
    fresh = a_sign_in(claims_age=timedelta(seconds=59), token_left=timedelta(minutes=4))

    assert not is_stale(fresh, now=NOW, max_age=60)


def test_claims_a_minute_old_are_stale():
    old = a_sign_in(claims_age=timedelta(seconds=60), token_left=timedelta(minutes=4))

    assert is_stale(old, now=NOW, max_age=60)


def test_an_access_token_about_to_expire_is_renewed_even_with_fresh_claims():
    expiring = a_sign_in(claims_age=timedelta(0), token_left=timedelta(seconds=5))

    assert is_stale(expiring, now=NOW, max_age=60)


def test_one_request_at_a_time_may_refresh_a_sign_in(app, client):
    engine = app.extensions[EXTENSION].engine
    hashed = store.key_hash(sign_in(app, client, claims(account())))
    lease = timedelta(seconds=30)

    first = store.claim_refresh(engine, hashed, now=NOW, lease=lease)
    second = store.claim_refresh(engine, hashed, now=NOW + timedelta(seconds=1), lease=lease)
    after_lease = store.claim_refresh(engine, hashed, now=NOW + timedelta(seconds=31), lease=lease)

    assert (first, second, after_lease) == (True, False, True)


def test_a_released_refresh_can_be_taken_again(app, client):
    engine = app.extensions[EXTENSION].engine
    hashed = store.key_hash(sign_in(app, client, claims(account())))
    lease = timedelta(seconds=30)
    store.claim_refresh(engine, hashed, now=NOW, lease=lease)

    store.release_refresh(engine, hashed)

    assert store.claim_refresh(engine, hashed, now=NOW, lease=lease)


def test_a_refresh_result_is_not_stored_into_a_session_that_ended(app, client):
    engine = app.extensions[EXTENSION].engine
    hashed = store.key_hash(sign_in(app, client, claims(account())))
    store.end(engine, hashed)

    assert (
        store.store_refresh(
            engine, hashed, a_sign_in(claims_age=timedelta(0), token_left=timedelta(minutes=5))
        )
        is False
    )
