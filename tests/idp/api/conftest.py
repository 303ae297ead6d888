"""Fixtures of the API tests: access tokens obtained the way a portal obtains them (the real
code flow, PKCE and all), and test clients whose every API answer is checked against the OpenAPI
document (`contract.py`)."""

from __future__ import annotations

import pytest

from tests.idp.api.contract import ContractCheckedClient
from tests.idp.oidc.conftest import Portal as RelyingParty

# What the portals ask for (portals/kit/auth/client.py).
PORTAL_SCOPE = "openid profile email accounts admin"


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    """The tests' present, standing still until a test travels on; set before the demo is
    loaded so that its dates are relative to it."""
    time_machine.move_to(now, tick=False)


@pytest.fixture
def app(app):
    app.test_client_class = ContractCheckedClient
    return app


@pytest.fixture
def bearer(app, demo, sign_in_as):
    """`bearer("alice.martin", "soltea")`: the Authorization header of the access token the
    portal gets for that person through the code flow — a browser of their own signed in at the
    hub, the portal's back end exchanging the code."""

    def issue(username: str, portal: str = "soltea", *, scope: str = PORTAL_SCOPE):
        browser = app.test_client()
        sign_in_as(browser, username)
        party = RelyingParty(portal, browser, app.test_client(), scope=scope)
        tokens = party.sign_in()
        return {"Authorization": f"Bearer {tokens['access_token']}"}

    return issue
