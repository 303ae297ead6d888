"""Fixed answers of the hub's administration API (the contract in portals/kit/admin/api.py)
for the unit-level tests of « Administration », and how those tests read a page."""

from __future__ import annotations

import re
from typing import Any

ALPHA = "/admin/structures/100001/portals"
SCOPE = {
    "portals": [
        {"code": "soltea", "name": "SOLTÉA", "via": None},
        {"code": "certificateurs", "name": "Certificateurs", "via": "soltea"},
    ],
    "structures": [
        {
            "matricule": "100001",
            "name": "Organisme Alpha Formation",
            "siret": "10000010800017",
            "portals": ["soltea", "certificateurs"],
        }
    ],
}
ALICE = {
    "sub": "sub-alice",
    "username": "alice.martin",
    "first_name": "Alice",
    "last_name": "Martin",
    "email": "alice.martin@alpha.example",
}
BRUNO = {
    "sub": "sub-bruno",
    "username": "bruno.petit",
    "first_name": "Bruno",
    "last_name": "Petit",
    "email": "bruno.petit@alpha.example",
}


def hub_account(
    account_id: int,
    user: dict[str, Any],
    *,
    portal: str = "certificateurs",
    role: str = "user",
    data_exchange: bool = True,
    expires_at: str = "2026-11-13T09:00:00+00:00",
    status: str = "expired",
) -> dict[str, Any]:
    """An Account as the hub's administration API describes it."""
    return {
        "id": account_id,
        "user": user,
        "structure": {"matricule": "100001", "name": "Organisme Alpha Formation"},
        "portal": {"code": portal, "name": portal},
        "role": role,
        "is_first_admin": False,
        "rights": ["data_exchange"] if data_exchange else [],
        "data_exchange": data_exchange,
        "created_at": "2025-05-13T09:00:00+00:00",
        "expires_at": expires_at,
        "status": status,
    }


def hub_invitation(
    invitation_id: int,
    invitee: str,
    *,
    person: dict[str, Any] | None = None,
    portal: str = "soltea",
    role: str = "user",
    status: str = "sent",
    expires_at: str = "2026-11-30T10:00:00+00:00",
) -> dict[str, Any]:
    """An Invitation as the hub's administration API describes it: what the admin typed."""
    return {
        "id": invitation_id,
        "invitee": invitee,
        "person": person,
        "structure": {"matricule": "100001", "name": "Organisme Alpha Formation"},
        "portal": {"code": portal, "name": portal},
        "role": role,
        "rights": ["data_exchange"],
        "data_exchange": True,
        "status": status,
        "invited_by": {"name": "Alice Martin"},
        "created_at": "2026-11-23T10:00:00+00:00",
        "sent_at": "2026-11-23T10:00:00+00:00",
        "expires_at": expires_at,
    }


def listing(
    *items: dict[str, Any], total: int | None = None, page: int = 1, delegated=()
) -> dict[str, Any]:
    return {
        "items": list(items),
        "total": len(items) if total is None else total,
        "page": page,
        "per_page": 25,
        "delegated_admins": list(delegated),
    }


DELEGATED_ALICE = {
    "user": ALICE,
    "via": {"code": "soltea", "name": "SOLTÉA"},
    "expires_at": "2027-11-23T10:00:00+00:00",
}


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def rows_of(page: str) -> dict[str, str]:
    """Each body row of a table, by the last name in its row header."""
    rows = {}
    for chunk in page.split("<tr")[1:]:
        row = chunk.split("</tr>")[0]
        name = re.search(r'<th scope="row">([^<]*)</th>', row)
        if name:
            rows[name.group(1)] = row
    return rows


def key_of(page: str) -> str:
    return re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
