"""`/metrics` for the protocol (issue 16): tokens issued by grant type, and R5's refusals where
they happen, at the authorization endpoint (the door) and at the token endpoint. Counters are
the process's: each test compares a scrape before and after."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from hub.clock import utcnow
from tests.idp.api.demo_accounts import account_of
from tests.idp.metrics_reading import TOKEN, scrape, value


@pytest.fixture
def settings(settings):
    return replace(settings, metrics_token=TOKEN)


def moved(before, after, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_tokens_are_counted_by_grant_type(soltea_rp, sign_in_as, client, backend):
    sign_in_as(client, "alice.martin")
    before = scrape(backend)

    tokens = soltea_rp.sign_in()
    assert soltea_rp.refresh(tokens["refresh_token"]).status_code == 200
    assert soltea_rp.refresh(tokens["refresh_token"]).status_code == 400  # reused: none issued

    after = scrape(backend)
    name = "hub_tokens_issued_total"
    assert moved(before, after, name, grant_type="authorization_code") == 1
    assert moved(before, after, name, grant_type="refresh_token") == 1


def test_r5_refusals_are_counted_at_the_door_and_at_the_token_endpoint(
    certificateurs_rp, sign_in_as, client, backend, session, time_machine
):
    before = scrape(backend)
    sign_in_as(client, "bruno.petit")  # expired on Certificateurs
    door, _ = certificateurs_rp.authorize()
    assert door.status_code == 403

    account_of(session, "chloe.roux", "certificateurs").expires_at = utcnow() + timedelta(minutes=2)
    session.commit()
    sign_in_as(client, "chloe.roux")
    tokens = certificateurs_rp.sign_in()
    time_machine.move_to(utcnow() + timedelta(minutes=3), tick=False)
    assert certificateurs_rp.refresh(tokens["refresh_token"]).status_code == 400

    after = scrape(backend)
    name = "hub_portal_access_refusals_total"
    assert moved(before, after, name, at="authorize", reason="account_expired") == 1
    assert moved(before, after, name, at="token", reason="account_expired") == 1
