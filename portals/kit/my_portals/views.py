"""« Mes portails »: every account the person holds, on every portal, as the hub lists them
(R8: the first administrator needs to see where they are signed in)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, render_template

from portals.kit.auth.access import login_required, role_label
from portals.kit.clock import paris_date, parse_instant, utcnow
from portals.kit.hub_api import hub_api

bp = Blueprint("kit_my_portals", __name__, url_prefix="/mes-portails")

EXPIRES_SOON = timedelta(days=30)


def account_status(expires_at: datetime, *, expired: bool, now: datetime) -> str:
    """« Valide », « Expire bientôt » (30 days or less left) or « Expiré » (R3)."""
    if expired or expires_at <= now:
        return "Expiré"
    if expires_at - now <= EXPIRES_SOON:
        return "Expire bientôt"
    return "Valide"


@dataclass(frozen=True)
class AccountRow:
    portal_name: str
    portal_url: str | None
    structure: str
    matricule: str
    role: str
    expires_on: str
    status: str
    connected: bool


def account_row(entry: dict[str, Any], *, now: datetime) -> AccountRow:
    portal, structure = entry.get("portal") or {}, entry.get("structure") or {}
    expires_at = parse_instant(entry["expires_at"])
    return AccountRow(
        portal_name=portal.get("name") or portal.get("code", ""),
        portal_url=portal.get("base_url"),
        structure=structure.get("name", ""),
        matricule=structure.get("matricule", ""),
        role=role_label(str(entry.get("role")), entry.get("via")),
        expires_on=paris_date(expires_at),
        status=account_status(expires_at, expired=bool(entry.get("expired")), now=now),
        connected=bool(entry.get("connected")),
    )


@bp.get("")
@login_required
def index() -> str:
    now = utcnow()
    rows = sorted(
        (account_row(entry, now=now) for entry in hub_api().my_accounts()),
        key=lambda row: (row.portal_name, row.structure),
    )
    return render_template("kit/my_portals.html", rows=rows)
