"""« Historique » (R2, R9): the administrative actions on a structure's accounts, newest first,
with who did them, from which portal, and what changed — as the hub's audit log keeps them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import render_template, request

from portals.kit.admin.api import admin_api
from portals.kit.admin.blueprint import bp, current_scope
from portals.kit.admin.forms import DATA_EXCHANGE_LABEL
from portals.kit.admin.listing import ListFilters, Pagination
from portals.kit.admin.scope import AdminScope, portal_label
from portals.kit.auth.access import admin_required, role_label
from portals.kit.clock import paris_date, paris_date_time, parse_instant

PER_PAGE = 25
SYSTEM = "Système"


@dataclass(frozen=True)
class EventRow:
    occurred: str
    actor: str
    action: str
    portal: str
    via_portal: str
    target: str
    changes: tuple[str, ...]


def _label(value: Any) -> str:
    """A person or an account as the hub describes it: a label, or {…} with names."""
    if not isinstance(value, Mapping):
        return str(value or "")
    user = value.get("user") if isinstance(value.get("user"), Mapping) else value
    name = user.get("name") or f"{user.get('first_name') or ''} {user.get('last_name') or ''}"
    name = str(name).strip()
    username = user.get("username") or value.get("label") or ""
    if name and username:
        return f"{name} ({username})"
    return name or str(username)


def change_lines(before: Any, after: Any) -> tuple[str, ...]:
    """What an account change did, from the audit log's snapshots {role, rights, expires_at}."""
    before = before if isinstance(before, Mapping) else {}
    after = after if isinstance(after, Mapping) else {}
    lines = []
    if after.get("role") and after.get("role") != before.get("role"):
        new = role_label(str(after["role"]), None)
        lines.append(
            f"Rôle : {role_label(str(before['role']), None)} → {new}"
            if before.get("role")
            else f"Rôle : {new}"
        )
    if "rights" in before and "rights" in after:
        had, has = "data_exchange" in before["rights"], "data_exchange" in after["rights"]
        if had != has:
            lines.append(f"« {DATA_EXCHANGE_LABEL} » : {'accordé' if has else 'retiré'}")
    if after.get("expires_at") and after.get("expires_at") != before.get("expires_at"):
        new_day = paris_date(parse_instant(str(after["expires_at"])))
        old = before.get("expires_at")
        lines.append(
            f"Expiration : {paris_date(parse_instant(str(old)))} → {new_day}"
            if old
            else f"Expiration : {new_day}"
        )
    return tuple(lines)


def event_row(event: Mapping[str, Any], scope: AdminScope) -> EventRow:
    occurred = event.get("occurred_at")
    return EventRow(
        occurred=paris_date_time(parse_instant(str(occurred))) if occurred else "",
        actor=str(event.get("actor_label") or _label(event.get("actor")) or SYSTEM),
        action=str(event.get("action_label") or event.get("action") or ""),
        portal=portal_label(event.get("portal"), scope.portals),
        via_portal=portal_label(event.get("via_portal"), scope.portals),
        target=_label(event.get("target")),
        changes=change_lines(event.get("before"), event.get("after")),
    )


@bp.get("/historique")
@admin_required
def history() -> str:
    scope = current_scope()
    filters = ListFilters.from_values(request.args)
    structure = next(
        (s for s in scope.structures if s.matricule == filters.structure), scope.structures[0]
    )
    portal = filters.portail if filters.portail in {p.code for p in scope.portals} else ""
    answer = admin_api().history(
        structure.matricule, portal_code=portal or None, page=filters.page, per_page=PER_PAGE
    )
    return render_template(
        "kit/admin/history.html",
        section="historique",
        scope=scope,
        structure=structure,
        portal=portal,
        events=[event_row(event, scope) for event in answer.get("items") or ()],
        pagination=Pagination.from_answer(answer, page=filters.page),
    )
