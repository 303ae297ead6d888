"""`/metrics` (issue 16): Prometheus's text format for the operator's scraper only, with what
happened in requests (sign-ins, requests by endpoint) and what waits in the database (the
outbox). Counters are the process's and other tests move them too: each test compares a scrape
before and after what it does."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub import leases
from hub.demo import DEMO_PASSWORD
from idp import create_app
from idp.web.sessions import COOKIE_NAME
from tests.idp.metrics_reading import BEARER, TOKEN, scrape, value
from tests.idp.signing_in import submit_login
from tests.idp.test_passwords import ask_for_a_temporary_password

WRONG = "not-the-password"


@pytest.fixture
def settings(settings):
    return replace(settings, metrics_token=TOKEN)


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


def test_without_a_configured_token_there_is_no_metrics_endpoint(settings, session):
    app = create_app(replace(settings, metrics_token=None), TESTING=True)
    try:
        response = app.test_client().get("/metrics", headers=BEARER)
        assert response.status_code == 404
        assert "hub_" not in response.text
    finally:
        with app.app_context():
            from idp.extensions import db

            db.engine.dispose()


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "],
)
def test_a_missing_or_wrong_token_is_refused_with_a_bearer_challenge(client, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    response = client.get("/metrics", headers=headers)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "hub_" not in response.text


def test_the_scraper_reads_prometheus_text_and_gets_no_cookie(client):
    client.get("/healthz")

    response = client.get("/metrics", headers=BEARER)

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert "Set-Cookie" not in response.headers
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {
        "hub_http_requests",
        "hub_http_request_duration_seconds",
        "hub_sign_ins",
        "hub_portal_access_refusals",
        "hub_tokens_issued",
        "hub_backchannel_logout_failures",
        "hub_outbox_pending_messages",
        "hub_outbox_oldest_pending_age_seconds",
        "hub_backchannel_logout_pending",
        "hub_database_up",
    } <= names


def test_requests_are_counted_by_endpoint_and_status_never_by_path(client):
    before = scrape(client)
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/page?code=secret")

    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("hub_http_requests_total", endpoint="health.healthz", status="200") == 2
    assert moved("hub_http_requests_total", endpoint="unmatched", status="404") == 1
    assert moved("hub_http_request_duration_seconds_count", endpoint="health.healthz") == 2
    assert not any("/no/such/page" in str(labels) for _, labels in after)


def test_sign_ins_are_counted_by_outcome(app, client, demo):
    before = scrape(client)
    for _ in range(3):
        assert submit_login(client, "alice.martin", WRONG).status_code == 200
    assert submit_login(client, "alice.martin").status_code == 429  # too soon after three
    browser = app.test_client()
    signed_in = submit_login(browser, "bruno.petit", DEMO_PASSWORD, address="192.0.2.30")
    assert signed_in.status_code == 303
    assert browser.get_cookie(COOKIE_NAME) is not None

    after = scrape(client)

    def moved(outcome: str) -> float:
        name = "hub_sign_ins_total"
        return value(after, name, outcome=outcome) - value(before, name, outcome=outcome)

    assert (moved("failure"), moved("throttled"), moved("success")) == (3, 1, 1)


def test_the_outbox_depth_and_the_age_of_its_oldest_mail(client, demo, time_machine, now):
    assert value(scrape(client), "hub_outbox_pending_messages") == 0
    assert value(scrape(client), "hub_database_up") == 1

    ask_for_a_temporary_password(client, "alice.martin")
    time_machine.move_to(now + timedelta(seconds=90), tick=False)
    ask_for_a_temporary_password(client, "bruno.petit", address="192.0.2.11")
    scraped = scrape(client)

    assert value(scraped, "hub_outbox_pending_messages") == 2
    assert value(scraped, "hub_outbox_oldest_pending_age_seconds") == 90


def test_who_holds_each_background_lease(client, session_factory, now):
    assert not any(name == "hub_lease_holder" for name, _labels in scrape(client))

    leases.hold(session_factory, "scheduler", "hub-a:1234:cafe", now=now, ttl=timedelta(seconds=15))
    scraped = scrape(client)

    assert value(scraped, "hub_lease_holder", lease="scheduler", holder="hub-a:1234:cafe") == 1
    assert value(scraped, "hub_lease_held_seconds", lease="scheduler") == 0
