"""« Mes informations »: show, edit, and delete one's own account on this portal (R6)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for

from portals.kit.auth import freshness
from portals.kit.auth.access import login_required, role_label
from portals.kit.clock import paris_date, parse_instant
from portals.kit.extension import kit
from portals.kit.hub_api import HubApiError, hub_api
from portals.kit.me.forms import CIVILITIES, LABELS, contact_changes, email_pending, form_values

bp = Blueprint("kit_me", __name__, url_prefix="/mes-informations")

SAVED = "Vos informations ont été enregistrées."
EMAIL_SENT = (
    "Un courriel de confirmation a été envoyé à {email}. Votre adresse e-mail changera quand "
    "vous aurez suivi le lien qu'il contient (valable 24 heures)."
)
DELETED = "Votre compte a été supprimé."


@dataclass(frozen=True)
class OwnAccount:
    matricule: str
    structure_name: str
    role_label: str
    expires_on: str


def own_accounts() -> list[OwnAccount]:
    """The person's own accounts on this portal, which they may delete (R6). A role delegated
    from another portal (R9) is derived, not an account: the hub lists those with `via`."""
    code = kit().config.code
    return [
        OwnAccount(
            matricule=entry["structure"]["matricule"],
            structure_name=entry["structure"]["name"],
            role_label=role_label(entry["role"], None),
            expires_on=paris_date(parse_instant(entry["expires_at"])),
        )
        for entry in hub_api().my_accounts()
        if entry["portal"]["code"] == code and entry.get("via") is None
    ]


@bp.get("")
@login_required
def show() -> str:
    config = kit().config
    return render_template(
        "kit/me.html",
        identity=hub_api().me(),
        labels=LABELS,
        accounts=own_accounts(),
        change_password_url=f"{config.issuer}/password/change?{urlencode({'portal': config.code})}",
    )


@bp.route("/modifier", methods=["GET", "POST"])
@login_required
def edit() -> Any:
    if request.method == "GET":
        return _edit_page(form_values(hub_api().me()))
    changes = contact_changes(request.form)
    try:
        identity = hub_api().update_me(changes)
    except HubApiError as refusal:
        if refusal.status >= 500 or refusal.status in (403, 404):
            raise
        return _edit_page(form_values(changes), error=refusal, status=400)
    flash(SAVED, "succes")
    pending = email_pending(changes, identity)
    if pending is not None:
        flash(EMAIL_SENT.format(email=pending), "succes")
    return redirect(url_for("kit_me.show"))


def _edit_page(
    values: dict[str, str], *, error: HubApiError | None = None, status: int = 200
) -> tuple[str, int]:
    return render_template(
        "kit/me_edit.html", values=values, labels=LABELS, civilities=CIVILITIES, error=error
    ), status


@bp.route("/supprimer/<matricule>", methods=["GET", "POST"])
@login_required
def delete(matricule: str) -> Any:
    """A confirmation page, then the hub deletes the account (it refuses the last
    administrator, with a message saying what to do)."""
    account = next((a for a in own_accounts() if a.matricule == matricule), None)
    if account is None:
        abort(404)
    if request.method == "GET":
        return render_template("kit/me_delete.html", account=account)
    try:
        hub_api().delete_account(kit().config.code, matricule)
    except HubApiError as refusal:
        if refusal.status >= 500:
            raise
        return render_template("kit/me_delete.html", account=account, error=refusal), 409
    stopped = freshness.refresh()  # the claims change now, not in a minute
    if stopped is not None:  # nothing valid left here: the portal session ended
        session["notice"] = "account_deleted"
        return stopped
    flash(DELETED, "succes")
    return redirect(url_for("kit_me.show"))
