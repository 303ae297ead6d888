"""The « Administration » pages of SOLTÉA against a loopback party answering the hub's
administration API, with Alice (administrator of Alpha on SOLTÉA, by R9 on Certificateurs)
signed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.portals.administration.answers import ALPHA, SCOPE
from tests.portals.conftest import account, claims, sign_in
from tests.portals.hub_api_party import HubApiParty, running_hub_api


@pytest.fixture
def hub() -> Iterator[HubApiParty]:
    with running_hub_api() as party:
        party.answer("GET", "/admin/scope", SCOPE)
        for portal in ("soltea", "certificateurs"):  # no invitation waiting, unless a test says
            party.answer("GET", f"{ALPHA}/{portal}/invitations", {"items": []})
        yield party


@pytest.fixture
def app(make_app, hub):
    return make_app("soltea", issuer=hub.issuer)


@pytest.fixture
def admin(app, client):
    """Alice, administrator of Alpha on SOLTÉA (and by R9 on Certificateurs), signed in."""
    sign_in(app, client, claims(account(role="admin")))
    return client
