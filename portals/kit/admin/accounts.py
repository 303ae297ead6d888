"""« Gérer les comptes existants » (R2, R4, R9, R15): the accounts of a structure on a portal
this admin manages — this portal or one it delegates to, chosen in the « Portail » filter as the
guide shows for « Certificateurs » from SOLTÉA — with « Renouveler », one account or a selection,
and « Exporter (CSV) »; above them, the invitations still waiting for their person."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for

from portals.kit.admin.api import admin_api
from portals.kit.admin.blueprint import bp, selected_pair
from portals.kit.admin.export import accounts_csv, file_name
from portals.kit.admin.listing import (
    PER_PAGE,
    SORT_CHOICES,
    STATUS_CHOICES,
    AccountRow,
    InvitationRow,
    ListFilters,
    Pagination,
    account_row,
    delegated_rows,
    invitation_row,
)
from portals.kit.admin.scope import Selection
from portals.kit.auth.access import admin_required
from portals.kit.clock import PARIS, paris_date, parse_instant, utcnow

EXPORT_PER_PAGE = 200  # the hub may answer fewer per page: its `per_page` is followed
EXPORT_MAX_PAGES = 1000
MAX_SELECTION = 500
NOTHING_SELECTED = "Sélectionnez au moins un compte à renouveler."
NOT_MANAGED = "Vous n'administrez pas les comptes de cette structure sur ce portail."


@bp.get("", endpoint="index")
@admin_required
def index() -> str:
    return render_template("kit/admin/index.html", section="index")


@bp.get("/comptes")
@admin_required
def accounts() -> str:
    scope, chosen, filters = selected_pair(ListFilters.from_values(request.args))
    rows: list[AccountRow] = []
    invitations: list[InvitationRow] = []
    pagination = None
    if chosen.managed:
        now = utcnow()
        if filters.page == 1:
            waiting = admin_api().invitations(chosen.structure.matricule, chosen.portal.code)
            invitations = [invitation_row(item) for item in waiting]
        answer = admin_api().accounts(
            chosen.structure.matricule,
            chosen.portal.code,
            page=filters.page,
            per_page=PER_PAGE,
            **filters.hub_filters(),
        )
        if filters.page == 1:
            rows = delegated_rows(answer.get("delegated_admins") or [], filters, now=now)
        rows += [account_row(item, now=now) for item in answer.get("items") or ()]
        pagination = Pagination.from_answer(answer, page=filters.page)
    return render_template(
        "kit/admin/accounts.html",
        section="comptes",
        scope=scope,
        chosen=chosen,
        filters=filters,
        rows=rows,
        invitations=invitations,
        pagination=pagination,
        not_managed=None if chosen.managed else NOT_MANAGED,
        status_choices=STATUS_CHOICES,
        sort_choices=SORT_CHOICES,
        idempotency_key=secrets.token_urlsafe(16),  # R4: this render's renewals count once
    )


@bp.post("/comptes/renouveler")
@admin_required
def renew() -> Response:
    """R4: « Renouveler » on a row (`compte`) or « Renouveler la sélection » (`ids`). The key
    was generated when the page was shown: submitting the same page twice renews once."""
    filters = ListFilters.from_values(request.form)
    back = redirect(url_for("kit_admin.accounts", **filters.query_args()))
    key = request.form.get("idempotency_key", "")
    if not key:
        abort(400)
    ids = selected_ids(request.form)
    if not ids:
        flash(NOTHING_SELECTED, "erreur")
        return back
    for note in renewal_notes(admin_api().renew(ids, idempotency_key=key)):
        flash(note, "succes")
    return back


def selected_ids(form: Any) -> list[int]:
    values = [form["compte"]] if form.get("compte") else form.getlist("ids")
    ids = [int(value) for value in values if value.isdigit() and len(value) < 19]
    return list(dict.fromkeys(ids))[:MAX_SELECTION]


def renewal_notes(renewed: list[dict[str, Any]]) -> list[str]:
    """« Compte renouvelé jusqu'au 22/05/2028. » for one; for several, how many, then one line
    per new expiry date (a selection of 500 reads in a few lines)."""
    moments = [parse_instant(str(account["expires_at"])) for account in renewed]
    if len(moments) == 1:
        return [f"Compte renouvelé jusqu'au {paris_date(moments[0])}."]
    days = Counter(moment.astimezone(PARIS).date() for moment in moments)
    notes = [f"{len(moments)} comptes renouvelés."]
    for day, count in sorted(days.items()):
        subject = "Compte renouvelé" if count == 1 else f"{count} comptes renouvelés"
        notes.append(f"{subject} jusqu'au {day:%d/%m/%Y}.")
    return notes


@bp.get("/comptes/export.csv")
@admin_required
def export() -> Response:
    """Every page of the filtered list, delegated admins included (R9)."""
    _scope, chosen, filters = selected_pair(ListFilters.from_values(request.args))
    if not chosen.managed:
        abort(404)
    now = utcnow()
    items, delegated = _every_item(chosen, filters)
    rows = delegated_rows(delegated, filters, now=now)
    rows += [account_row(item, now=now) for item in items]
    name = file_name(chosen.portal.code, chosen.structure.matricule, _paris_day(now))
    return Response(
        accounts_csv(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _every_item(
    chosen: Selection, filters: ListFilters
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    items: list[dict[str, Any]] = []
    delegated: list[dict[str, Any]] = []
    for page, answer in enumerate(_pages(chosen, filters, q=filters.q), start=1):
        if page == 1:
            delegated = list(answer.get("delegated_admins") or [])
        items += answer.get("items") or []
    return items, delegated


def _pages(chosen: Selection, filters: ListFilters, *, q: str) -> Iterator[dict[str, Any]]:
    """The hub's pages of the list, one after the other, until `total` is reached."""
    hub_filters = filters.hub_filters() | {"q": q}
    seen = 0
    for page in range(1, EXPORT_MAX_PAGES + 1):
        answer = admin_api().accounts(
            chosen.structure.matricule,
            chosen.portal.code,
            page=page,
            per_page=EXPORT_PER_PAGE,
            **hub_filters,
        )
        yield answer
        items = answer.get("items") or []
        seen += len(items)
        if not items or seen >= int(answer.get("total") or 0):
            return


def find_account(chosen: Selection, account_id: int, *, hint: str) -> dict[str, Any]:
    """An account of the chosen pair as the hub holds it now, found by its holder's identifiant
    (`hint`, from the row's link) or, failing that, by reading the list."""
    if not chosen.managed:
        abort(404)
    filters = ListFilters()
    for q in dict.fromkeys((hint.strip()[:100], "")):
        for answer in _pages(chosen, filters, q=q):
            found = next((i for i in answer.get("items") or () if i.get("id") == account_id), None)
            if found is not None:
                return found
    abort(404)


def _paris_day(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%d")
