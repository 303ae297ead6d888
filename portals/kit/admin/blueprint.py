"""The « Administration » blueprint (R2, R9, R15) and what its pages share: the admin's scope
read from the hub, the (portal, structure) pair a page works on, and the French pages for the
hub's refusals (403, 404, 409…), which never become a 500."""

from __future__ import annotations

import logging

from flask import Blueprint, url_for

from portals.kit import messages
from portals.kit.admin.api import admin_api
from portals.kit.admin.listing import ListFilters
from portals.kit.admin.scope import AdminScope, Selection
from portals.kit.extension import kit
from portals.kit.hub_api import HubApiError
from portals.kit.pages import render_message

bp = Blueprint("kit_admin", __name__, url_prefix="/administration")

log = logging.getLogger("portals.kit.admin")

NOT_FOUND_TITLE = "Élément introuvable"
REFUSED_TITLE = "Demande refusée"
NOTHING_MANAGED = "Vous n'administrez aucune structure depuis ce portail."


class NothingManaged(Exception):
    """The hub lists no portal or no structure this admin manages from here."""


def current_scope() -> AdminScope:
    scope = AdminScope.from_answer(admin_api().scope())
    if scope.is_empty:
        raise NothingManaged()
    return scope


def select(scope: AdminScope, *, portal: str | None, matricule: str | None) -> Selection:
    return scope.select(portal=portal, matricule=matricule, current=kit().config.code)


def selected_pair(filters: ListFilters) -> tuple[AdminScope, Selection, ListFilters]:
    """The scope, the (portal, structure) pair the filters ask for (or the defaults), and the
    filters naming that pair."""
    scope = current_scope()
    chosen = select(scope, portal=filters.portail or None, matricule=filters.structure or None)
    return scope, chosen, filters.for_pair(chosen.portal.code, chosen.structure.matricule)


@bp.errorhandler(NothingManaged)
def nothing_managed(_error: NothingManaged) -> tuple[str, int]:
    return render_message(messages.RESTRICTED_TITLE, NOTHING_MANAGED, status=403)


@bp.errorhandler(HubApiError)
def hub_refused(refusal: HubApiError) -> tuple[str, int]:
    """A refusal no page handled itself: the hub's French sentence on a page of its own."""
    log.info("hub refused an administration call: %s %s", refusal.status, refusal.error)
    back = ("Retour à l'administration", url_for("kit_admin.index"))
    if refusal.status in (401, 403):
        return render_message(messages.RESTRICTED_TITLE, refusal.message, status=403)
    if refusal.status == 404:
        return render_message(NOT_FOUND_TITLE, refusal.message, link=back, status=404)
    return render_message(REFUSED_TITLE, refusal.message, link=back, status=refusal.status)
