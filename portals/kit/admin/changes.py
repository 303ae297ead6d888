"""« Modifier » and « Supprimer » on a row of « Gérer les comptes existants » (R2, R7): change an
account's role and its « Transmettre et consulter les données » right, or delete it after a
confirmation. The hub keeps a structure's last administrator (409, its sentence shown here).
« Renvoyer l'invitation » and « Annuler l'invitation » on an invitation still waiting."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from portals.kit.admin.accounts import find_account
from portals.kit.admin.api import admin_api
from portals.kit.admin.blueprint import bp, selected_pair
from portals.kit.admin.forms import DATA_EXCHANGE_LABEL, ROLES, account_changes
from portals.kit.admin.listing import ListFilters, account_row, invitation_row
from portals.kit.auth import freshness
from portals.kit.auth.access import admin_required, current_person
from portals.kit.clock import utcnow
from portals.kit.hub_api import HubApiError

NO_CHANGE = "Aucune modification n'a été faite."
SHOWN_REFUSALS = (400, 409)  # said on the form; other refusals get the blueprint's pages


@bp.route("/comptes/<int:account_id>/modifier", methods=["GET", "POST"])
@admin_required
def edit(account_id: int) -> Any:
    _scope, chosen, filters = selected_pair(ListFilters.from_values(request.values))
    account = find_account(chosen, account_id, hint=request.values.get("identifiant", ""))
    row = account_row(account, now=utcnow())
    context = {"chosen": chosen, "filters": filters, "row": row, "roles": ROLES}
    if request.method == "GET":
        values = {"role": account.get("role"), "data_exchange": bool(account.get("data_exchange"))}
        return render_template("kit/admin/edit.html", section="comptes", values=values, **context)
    changes = account_changes(request.form, account)
    if not changes:
        flash(NO_CHANGE, "succes")
        return _back_to_list(filters)
    try:
        admin_api().update_account(account_id, changes)
    except HubApiError as refusal:
        if refusal.status not in SHOWN_REFUSALS:
            raise
        values = {
            "role": changes.get("role", account.get("role")),
            "data_exchange": changes.get("data_exchange", bool(account.get("data_exchange"))),
        }
        page = render_template(
            "kit/admin/edit.html", section="comptes", values=values, error=refusal, **context
        )
        return page, refusal.status
    flash(f"Le compte de {row.full_name} a été modifié{_what(changes)}.", "succes")
    return _after_own_change(account) or _back_to_list(filters)


@bp.post("/invitations/<int:invitation_id>/renvoyer")
@admin_required
def send_invitation(invitation_id: int) -> Response:
    """« Renvoyer l'invitation »: a new link (the first may have expired or been lost)."""
    filters = ListFilters.from_values(request.values)
    try:
        sent = admin_api().send_invitation(invitation_id)
    except HubApiError as refusal:
        if refusal.status not in SHOWN_REFUSALS:
            raise
        flash(refusal.message, "erreur")
        return _back_to_list(filters)
    row = invitation_row(sent)
    flash(f"Invitation renvoyée à {row.label} (valable jusqu'au {row.expires_on}).", "succes")
    return _back_to_list(filters)


@bp.post("/invitations/<int:invitation_id>/annuler")
@admin_required
def cancel_invitation(invitation_id: int) -> Response:
    """« Annuler l'invitation »: its link stops working."""
    filters = ListFilters.from_values(request.values)
    try:
        admin_api().cancel_invitation(invitation_id)
    except HubApiError as refusal:
        if refusal.status not in SHOWN_REFUSALS:
            raise
        flash(refusal.message, "erreur")
        return _back_to_list(filters)
    flash("Invitation annulée.", "succes")
    return _back_to_list(filters)


def _what(changes: dict[str, Any]) -> str:
    parts = []
    if "role" in changes:
        parts.append("administrateur" if changes["role"] == "admin" else "utilisateur")
    if "data_exchange" in changes:
        given = "accordé" if changes["data_exchange"] else "retiré"
        parts.append(f"droit « {DATA_EXCHANGE_LABEL} » {given}")
    return f" : {', '.join(parts)}" if parts else ""


@bp.route("/comptes/<int:account_id>/supprimer", methods=["GET", "POST"])
@admin_required
def delete(account_id: int) -> Any:
    _scope, chosen, filters = selected_pair(ListFilters.from_values(request.values))
    account = find_account(chosen, account_id, hint=request.values.get("identifiant", ""))
    row = account_row(account, now=utcnow())
    context = {"chosen": chosen, "filters": filters, "row": row}
    if request.method == "GET":
        return render_template("kit/admin/delete.html", section="comptes", **context)
    try:
        admin_api().remove_account(account_id)
    except HubApiError as refusal:
        if refusal.status not in SHOWN_REFUSALS:
            raise
        page = render_template("kit/admin/delete.html", section="comptes", error=refusal, **context)
        return page, refusal.status
    flash(f"Le compte de {row.full_name} a été supprimé.", "succes")
    return _after_own_change(account) or _back_to_list(filters)


def _back_to_list(filters: ListFilters) -> Response:
    return redirect(url_for("kit_admin.accounts", **filters.query_args()))


def _after_own_change(account: dict[str, Any]) -> Response | None:
    """An admin who changed their own account reads their claims again now: without the admin
    role here they go home rather than to a list the hub would refuse them."""
    person = current_person()
    if person is None or (account.get("user") or {}).get("sub") != person.sub:
        return None
    stopped = freshness.refresh()
    if stopped is not None:
        return stopped
    person = current_person()
    return None if person is not None and person.is_admin else redirect("/")
