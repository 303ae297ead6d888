"""« Mes portails » (R8): each account's status and expiry date as people read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portals.kit.my_portals.views import account_row, account_status

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires_in", "expired", "status"),
    [
        (timedelta(days=31), False, "Valide"),
        (timedelta(days=30), False, "Expire bientôt"),
        (timedelta(minutes=1), False, "Expire bientôt"),
        (timedelta(0), False, "Expiré"),
        (timedelta(days=-10), True, "Expiré"),
        (timedelta(days=300), True, "Expiré"),  # the hub's word wins
    ],
)
def test_r3_status_of_an_account(expires_in, expired, status):
    assert account_status(NOW + expires_in, expired=expired, now=NOW) == status


def test_r8_row_shows_the_paris_date_the_delegation_and_the_connection():
    entry = {
        "portal": {"code": "certificateurs", "name": "Certificateurs", "base_url": "http://c"},
        "structure": {"matricule": "100001", "name": "Organisme Alpha Formation"},
        "role": "admin",
        "via": "soltea",
        "expires_at": "2028-05-21T22:30:00+00:00",  # 22/05/2028 00:30 in Paris
        "expired": False,
        "connected": True,
    }

    row = account_row(entry, now=NOW)

    assert row.expires_on == "22/05/2028"
    assert row.role == "Administrateur (via SOLTÉA)"
    assert row.status == "Valide"
    assert row.connected is True
    assert row.portal_url == "http://c"
