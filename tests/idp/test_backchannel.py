"""Back-channel logout (OpenID Connect Back-Channel Logout 1.0) as a portal receives it: a real
HTTP endpoint on 127.0.0.1 gets the logout token before the person's logout page comes back,
every portal at once; a portal that is down or slow holds the page no longer than the configured
wait; one that fails is retried with back-off and finally abandoned, one that answered is never
posted to again."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from hub.audit.models import AuditEvent
from hub.oidc import logout, sessions
from hub.oidc.clients import find_client
from hub.oidc.models import LogoutDelivery
from idp.cli import cli
from idp.oidc.backchannel import TIMEOUT, LogoutWorker, deliver_due
from tests.fixtures.portal_receiver import receiver as receiver  # the fixture, used by name
from tests.fixtures.portal_receiver import silent_portal as silent_portal  # likewise
from tests.fixtures.portal_receiver import the_hubs_posts_finished
from tests.fixtures.ports import closed_port
from tests.idp.metrics_reading import TOKEN, scrape, value

ISSUER = "http://127.0.0.1:5000"
EVENT = "http://schemas.openid.net/event/backchannel-logout"
WAIT = 1.5  # seconds the logout page waits for the portals, in these tests
# Seconds for the rest of the logout request on a busy test machine (2.6 and 2.9 s in all were
# seen under a full parallel run); WAIT + MARGIN stays below the 5 s a post itself may take.
MARGIN = 2.0


@pytest.fixture
def settings(settings):
    return replace(settings, logout_wait_seconds=WAIT, metrics_token=TOKEN)


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


@pytest.fixture
def portals(demo, session, receiver):
    """SOLTÉA and Certificateurs listening for back-channel logouts on `receiver`."""
    for client_id in ("soltea", "certificateurs"):
        find_client(session, client_id).backchannel_logout_uri = receiver.uri
    session.commit()


@pytest.fixture
def alice(client, portals, sign_in_as, session):
    """Alice signed in at the hub and, through it, at SOLTÉA only."""
    browser_session = sign_in_as(client, "alice.martin")
    sessions.remember_client(session, browser_session, find_client(session, "soltea"))
    session.commit()
    return browser_session


def log_out(client) -> float:
    """The person confirms « Se déconnecter » on the hub's page; returns how many seconds the
    page took to come back."""
    question = client.get("/logout")
    token = re.search(r'name="csrf_token" value="([^"]+)"', question.get_data(as_text=True))[1]
    started = time.monotonic()
    response = client.post("/logout", data={"csrf_token": token, "confirm": "1"})
    took = time.monotonic() - started
    assert response.status_code == 200
    assert "Vous êtes déconnecté." in response.get_data(as_text=True)
    return took


def verified(client, logout_token: str):
    """The token checked as a portal does: signature against the JWKS the hub publishes."""
    jwks = KeySet.import_key_set(client.get("/jwks.json").get_json())
    return jwt.decode(logout_token, jwks, algorithms=["RS256", "ES256"])


def delivery(session, client_id: str = "soltea") -> LogoutDelivery:
    """The delivery to `client_id` as the database holds it now."""
    session.rollback()
    session.expire_all()
    return session.scalars(
        select(LogoutDelivery).where(LogoutDelivery.client == find_client(session, client_id))
    ).one()


def counts(report) -> tuple[int, int, int]:
    return report.delivered, report.retried, report.abandoned


# --- the token ---------------------------------------------------------------------------------


def test_the_portal_receives_a_signed_logout_token_before_the_page_comes_back(
    client, alice, session, receiver, now
):
    log_out(client)

    (received,) = receiver.requests
    assert (received.method, received.path) == ("POST", "/auth/backchannel-logout")
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    token = verified(client, received.logout_token)
    assert token.header["typ"] == "logout+jwt"
    assert token.header["alg"] == "RS256"
    claims = token.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "soltea"
    assert claims["sub"] == alice.user.public_id
    assert claims["sid"] == alice.sid
    assert claims["events"] == {EVENT: {}}
    assert claims["iat"] == int(now.timestamp())
    assert claims["exp"] == int((now + timedelta(minutes=2)).timestamp())
    assert len(claims["jti"]) >= 16
    assert "nonce" not in claims
    assert delivery(session).delivered_at == now
    assert delivery(session).attempts == 1


def test_a_delivered_logout_is_not_sent_again(client, alice, session_factory, receiver):
    log_out(client)

    again = deliver_due(session_factory, due_only=False)

    assert counts(again) == (0, 0, 0)
    assert len(receiver.requests) == 1


def test_a_portal_answering_204_has_its_logout_delivered(
    client, alice, session, session_factory, receiver
):
    receiver.default = 204

    log_out(client)

    assert delivery(session).delivered_at is not None


def test_every_portal_of_the_session_gets_its_own_token(client, alice, session, receiver):
    sessions.remember_client(session, alice, find_client(session, "certificateurs"))
    session.commit()

    log_out(client)

    tokens = [verified(client, r.logout_token).claims for r in receiver.requests]
    assert sorted(claims["aud"] for claims in tokens) == ["certificateurs", "soltea"]
    assert {claims["sid"] for claims in tokens} == {alice.sid}
    assert tokens[0]["jti"] != tokens[1]["jti"]


def test_a_portal_registered_for_es256_gets_an_es256_token(client, alice, session, receiver):
    find_client(session, "soltea").id_token_signed_response_alg = "ES256"
    session.commit()

    log_out(client)

    assert verified(client, receiver.requests[0].logout_token).header["alg"] == "ES256"


# --- every portal at once, none holding the page ------------------------------------------------


def test_the_portals_are_told_in_parallel_before_the_page_comes_back(
    client, alice, session, receiver
):
    """Two portals answering in 0.9 s each: one after the other would outlast the wait."""
    sessions.remember_client(session, alice, find_client(session, "certificateurs"))
    session.commit()
    receiver.answer_after = 0.9

    log_out(client)

    assert len(receiver.requests) == 2
    assert delivery(session, "soltea").delivered_at is not None
    assert delivery(session, "certificateurs").delivered_at is not None


def test_a_portal_that_never_answers_holds_the_page_no_longer_than_the_wait_and_is_retried(
    client, alice, session, session_factory, receiver, silent_portal, time_machine, now
):
    find_client(session, "soltea").backchannel_logout_uri = silent_portal.uri
    sessions.remember_client(session, alice, find_client(session, "certificateurs"))
    session.commit()

    took = log_out(client)

    assert WAIT <= took < WAIT + MARGIN < TIMEOUT[1]  # the post itself would wait 5 s
    assert [verified(client, r.logout_token).claims["aud"] for r in receiver.requests] == [
        "certificateurs"
    ]
    assert delivery(session, "certificateurs").delivered_at == now
    waiting = delivery(session, "soltea")
    assert (waiting.delivered_at, waiting.abandoned_at, waiting.attempts) == (None, None, 1)
    assert deliver_due(session_factory).total == 0  # still the logout request's, meanwhile


def test_a_silent_portal_is_retried_by_the_sender_once_its_post_failed(
    client, alice, session, session_factory, receiver, silent_portal, time_machine, now
):
    find_client(session, "soltea").backchannel_logout_uri = silent_portal.uri
    session.commit()
    log_out(client)
    silent_portal.go_away()
    failed = delivery(session)
    find_client(session, "soltea").backchannel_logout_uri = receiver.uri  # the portal is back
    session.commit()
    time_machine.move_to(now + timedelta(seconds=12), tick=False)

    report = deliver_due(session_factory)

    assert failed.last_error.startswith("ConnectionError")
    assert now + timedelta(seconds=10) <= failed.next_attempt_at <= now + timedelta(seconds=11)
    assert counts(report) == (1, 0, 0)
    assert verified(client, receiver.requests[0].logout_token).claims["sid"] == alice.sid
    assert delivery(session).attempts == 2


# --- a portal that fails -------------------------------------------------------------------------


def test_a_failing_portal_is_retried_after_a_back_off(
    client, alice, session, session_factory, receiver, time_machine, now
):
    receiver.statuses = [500]
    log_out(client)

    row = delivery(session)
    too_soon = deliver_due(session_factory)
    time_machine.move_to(now + timedelta(seconds=12), tick=False)
    later = deliver_due(session_factory)

    assert (row.attempts, row.last_error) == (1, "HTTP 500")
    assert now + timedelta(seconds=10) <= row.next_attempt_at <= now + timedelta(seconds=11)
    assert counts(too_soon) == (0, 0, 0)
    assert counts(later) == (1, 0, 0)
    assert len(receiver.requests) == 2
    assert delivery(session).delivered_at == now + timedelta(seconds=12)


def test_a_failed_post_shows_in_the_metrics_until_the_portal_takes_the_token(
    client, alice, session_factory, receiver, time_machine, now
):
    receiver.statuses = [500]
    before = scrape(client)
    log_out(client)
    failing = scrape(client)
    time_machine.move_to(now + timedelta(seconds=12), tick=False)
    deliver_due(session_factory)
    after = scrape(client)

    name = "hub_backchannel_logout_failures_total"
    assert value(failing, name, outcome="retry") - value(before, name, outcome="retry") == 1
    assert value(failing, "hub_backchannel_logout_pending") == 1
    assert value(failing, "hub_backchannel_logout_failing") == 1
    assert value(after, "hub_backchannel_logout_pending") == 0
    assert value(after, "hub_backchannel_logout_failing") == 0


def test_a_portal_that_is_down_holds_the_page_no_longer_than_the_wait_and_is_retried(
    client, alice, session, session_factory
):
    find_client(
        session, "soltea"
    ).backchannel_logout_uri = f"http://127.0.0.1:{closed_port()}/auth/backchannel-logout"
    session.commit()

    took = log_out(client)
    the_hubs_posts_finished()

    assert took < WAIT + MARGIN
    row = delivery(session)
    assert row.last_error.startswith("ConnectionError")
    assert (row.delivered_at, row.abandoned_at) == (None, None)
    assert counts(deliver_due(session_factory, due_only=False)) == (0, 1, 0)


def test_a_redirect_is_not_followed(client, alice, session, receiver):
    receiver.statuses = [302]
    receiver.location = f"http://127.0.0.1:{receiver.port}/elsewhere"

    log_out(client)

    assert [r.path for r in receiver.requests] == ["/auth/backchannel-logout"]
    row = delivery(session)
    assert (row.last_error, row.delivered_at) == ("HTTP 302", None)


def test_a_late_retry_carries_a_fresh_token_for_the_same_logout(
    client, alice, session_factory, receiver, time_machine, now
):
    receiver.statuses = [503]
    log_out(client)
    later = now + timedelta(minutes=10)
    time_machine.move_to(later, tick=False)

    deliver_due(session_factory)

    first, retry = (verified(client, r.logout_token).claims for r in receiver.requests)
    assert retry["iat"] == int(later.timestamp())
    assert retry["exp"] == int((later + timedelta(minutes=2)).timestamp())
    assert retry["jti"] != first["jti"]
    assert {k: retry[k] for k in ("iss", "aud", "sub", "sid", "events")} == {
        k: first[k] for k in ("iss", "aud", "sub", "sid", "events")
    }


def test_a_portal_failing_ten_times_is_abandoned_and_audited(
    client, alice, session, session_factory, receiver, time_machine, now
):
    receiver.default = 500
    log_out(client)  # the first attempt

    reports = []
    for step in range(1, logout.MAX_ATTEMPTS + 1):
        time_machine.move_to(now + step * timedelta(minutes=12), tick=False)
        reports.append(counts(deliver_due(session_factory)))

    assert reports == [(0, 1, 0)] * 8 + [(0, 0, 1), (0, 0, 0)]
    assert len(receiver.requests) == logout.MAX_ATTEMPTS
    row = delivery(session)
    assert row.abandoned_at == now + 9 * timedelta(minutes=12)
    assert row.delivered_at is None
    event = session.scalar(select(AuditEvent).filter_by(action="logout.abandoned"))
    assert (event.actor, event.target, event.portal) == ("backchannel-logout", "soltea", "soltea")
    assert event.after["attempts"] == logout.MAX_ATTEMPTS


def test_a_logout_still_failing_after_a_day_is_abandoned(
    client, alice, session, session_factory, receiver, time_machine, now
):
    receiver.default = 500
    log_out(client)
    time_machine.move_to(now + timedelta(hours=25), tick=False)

    report = deliver_due(session_factory)

    assert counts(report) == (0, 0, 1)
    assert delivery(session).attempts == 2


def test_a_portal_that_dropped_back_channel_logout_is_not_posted_to_again(
    client, alice, session, session_factory, receiver, time_machine, now
):
    receiver.statuses = [500]
    log_out(client)
    find_client(session, "soltea").backchannel_logout_uri = None
    session.commit()
    time_machine.move_to(now + timedelta(minutes=1), tick=False)

    report = deliver_due(session_factory)

    assert counts(report) == (0, 0, 1)
    assert len(receiver.requests) == 1


# --- who retries: the worker of `hub run`, and `hub logout deliver` ----------------------------


def test_the_worker_retries_in_the_background(
    client, alice, session_factory, receiver, time_machine, now
):
    receiver.statuses = [500]
    log_out(client)
    time_machine.move_to(now + timedelta(seconds=12), tick=False)
    worker = LogoutWorker(session_factory, poll_seconds=0.05)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while len(receiver.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)  # waiting for another thread, not for time to pass
    finally:
        assert worker.stop()

    assert len(receiver.requests) == 2
    assert not worker.is_running


def test_hub_logout_deliver_reports_what_it_did(app, client, alice, receiver):
    receiver.statuses = [500, 500]
    log_out(client)
    runner = app.test_cli_runner()

    waiting = runner.invoke(cli, ["logout", "deliver"])
    forced = runner.invoke(cli, ["logout", "deliver", "--all"])
    again = runner.invoke(cli, ["logout", "deliver", "--all"])

    assert waiting.exit_code == 0, waiting.output
    assert waiting.output == "0 déconnexion(s) transmise(s), 0 reportée(s), 0 abandonnée(s).\n"
    assert forced.output == "0 déconnexion(s) transmise(s), 1 reportée(s), 0 abandonnée(s).\n"
    assert again.output == "1 déconnexion(s) transmise(s), 0 reportée(s), 0 abandonnée(s).\n"
    assert len(receiver.requests) == 3
