"""« Créer un compte » (R2, R7): an account of a structure on a portal this admin manages, for a
person who already has an identifiant (by identifiant or email) or for a new person. The hub
invites the person by mail and opens the account once they accept (issue 12 §2). Role user or
admin; the right is ticked by default."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for

from portals.kit.admin.api import admin_api
from portals.kit.admin.blueprint import bp, selected_pair
from portals.kit.admin.forms import (
    FIELD_LABELS,
    ROLES,
    FormProblem,
    creation_body,
    creation_values,
)
from portals.kit.admin.listing import ListFilters, invitation_row
from portals.kit.admin.scope import AdminScope, Selection
from portals.kit.auth.access import admin_required
from portals.kit.hub_api import HubApiError
from portals.kit.me.forms import CIVILITIES

NOT_MANAGED = "Vous n'administrez pas cette structure sur ce portail."


@bp.route("/comptes/nouveau", methods=["GET", "POST"])
@admin_required
def create() -> Any:
    scope, chosen, _filters = selected_pair(ListFilters.from_values(request.values))
    if request.method == "GET":
        return _page(scope, chosen, creation_values())
    values = creation_values(request.form)
    body, problem = creation_body(values)
    if not chosen.managed:
        problem = FormProblem("structure", NOT_MANAGED)
    if problem is not None or body is None:
        return _page(scope, chosen, values, error=problem, status=400)
    try:
        answer = admin_api().create_account(chosen.structure.matricule, chosen.portal.code, body)
    except HubApiError as refusal:
        if refusal.status not in (400, 409):
            raise
        return _page(scope, chosen, values, error=refusal, status=refusal.status)
    for note in creation_notes(answer, portal_name=chosen.portal.name):
        flash(note, "succes")
    listing = ListFilters().for_pair(chosen.portal.code, chosen.structure.matricule)
    return redirect(url_for("kit_admin.accounts", **listing.query_args()))


def creation_notes(answer: dict[str, Any], *, portal_name: str) -> list[str]:
    """What the hub answered: an invitation, described with what the administrator typed."""
    row = invitation_row(answer.get("invitation") or {})
    return [
        f"Invitation envoyée à {row.label} pour un compte sur {portal_name}, valable jusqu'au "
        f"{row.expires_on}.",
        "Le compte sera ouvert dès que cette personne aura accepté l'invitation : d'ici là, "
        "il apparaît dans la liste comme « Invitation envoyée ».",
    ]


def _page(
    scope: AdminScope,
    chosen: Selection,
    values: dict[str, Any],
    *,
    error: HubApiError | FormProblem | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "kit/admin/create.html",
        section="creation",
        scope=scope,
        chosen=chosen,
        values=values,
        labels=FIELD_LABELS,
        civilities=CIVILITIES,
        roles=ROLES,
        error=error,
        error_field=error.field if error is not None and error.field in FIELD_LABELS else None,
    ), status
