"""The console's requests (R11): the queue (« Demandes »), one request with what the hub
computed for the operator, and the actions « Prendre en charge », « Libérer », « Désigner
comme administrateur » and « Refuser ».

Views parse, call `hub.support` and render. Readers see everything and act on nothing
(`acting` refuses them); an action that the request's state refuses (taken by another operator,
already closed, checks not green) shows the request again with the French reason, and an
action done redirects to it (303) with what was done.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from flask import Response, redirect, render_template, request, url_for
from sqlalchemy import select

from hub.actors import SupportOperator
from hub.clock import utcnow
from hub.errors import HubError
from hub.portals.models import Portal
from hub.support import handling, review
from hub.support.models import OPEN_STATUSES, STATUS_LABELS, AdminChangeRequest, RequestStatus
from hub.transactions import end_reading, unit_of_work
from idp.auth.invitations import invitation_links
from idp.extensions import db
from idp.support.access import acting, current_operator, signed_in
from idp.support.blueprint import bp

OPEN = "ouvertes"
ALL = "toutes"
STATUS_FILTERS = {
    OPEN: sorted(OPEN_STATUSES),
    **{status.value: [status] for status in RequestStatus},
    ALL: list(RequestStatus),
}
FILTER_LABELS = {OPEN: "Ouvertes", **{s.value: label for s, label in STATUS_LABELS.items()}}
FILTER_LABELS[ALL] = "Toutes"
PREVIOUS_LABELS = {
    handling.Previous.KEEP: "les laisser administrateurs",
    handling.Previous.DEMOTE: "leur retirer le rôle d'administrateur (ils restent utilisateurs)",
    handling.Previous.REMOVE: "supprimer leur compte sur ce portail",
}
DONE_MESSAGES = {
    "prise": "Vous avez pris en charge cette demande.",
    "liberee": "La demande est de nouveau dans la file.",
    "designee": "Le nouvel administrateur est désigné ; le demandeur et les administrateurs "
    "de la structure sont prévenus par courriel.",
    "refusee": "La demande est refusée ; le demandeur a reçu le motif par courriel.",
}
Page = str | Response | tuple[str, int]


@bp.get("/support/demandes")
@signed_in
def queue() -> Page:
    status = request.args.get("etat", OPEN)
    if status not in STATUS_FILTERS:
        status = OPEN
    portal_code = request.args.get("portail") or None
    portals = db.session.scalars(select(Portal).order_by(Portal.name)).all()
    if portal_code not in {portal.code for portal in portals}:
        portal_code = None
    found = review.queue(
        db.session,
        statuses=STATUS_FILTERS[status],
        portal_code=portal_code,
        page=_page_number(request.args.get("page")),
    )
    return render_template(
        "support/queue.html",
        title="Demandes de changement d'administrateur",
        found=found,
        status=status,
        filters=FILTER_LABELS,
        portal_code=portal_code,
        portals=portals,
    )


@bp.get("/support/demandes/<number>")
@signed_in
def request_detail(number: str) -> Page:
    found = review.find(db.session, number)
    return _detail(found, done=DONE_MESSAGES.get(request.args.get("fait", "")))


@bp.post("/support/demandes/<number>/prendre")
@acting
def request_take(number: str) -> Page:
    return _act(
        number,
        "prise",
        lambda found, operator, now: handling.take(db.session, found.id, by=operator, now=now),
    )


@bp.post("/support/demandes/<number>/liberer")
@acting
def request_release(number: str) -> Page:
    return _act(
        number,
        "liberee",
        lambda found, operator, now: handling.release(db.session, found.id, by=operator, now=now),
    )


@bp.post("/support/demandes/<number>/designer")
@acting
def request_designate(number: str) -> Page:
    try:
        previous = handling.Previous(request.form.get("anciens", handling.Previous.KEEP.value))
    except ValueError:
        previous = handling.Previous.KEEP
    return _act(
        number,
        "designee",
        lambda found, operator, now: handling.designate(
            db.session, found.id, by=operator, now=now, links=invitation_links(), previous=previous
        ),
    )


@bp.post("/support/demandes/<number>/refuser")
@acting
def request_refuse(number: str) -> Page:
    reason = request.form.get("motif", "")[: handling.REASON_MAX + 100]
    return _act(
        number,
        "refusee",
        lambda found, operator, now: handling.refuse(
            db.session, found.id, by=operator, reason=reason, now=now
        ),
        reason=reason,
    )


def _act(
    number: str,
    done: str,
    action: Callable[[AdminChangeRequest, SupportOperator, datetime], object],
    *,
    reason: str = "",
) -> Page:
    """Runs one action in its own unit of work, as the signed-in operator."""
    operator = current_operator()
    assert operator is not None  # `acting` let the request through
    found = review.find(db.session, number)
    end_reading(db.session)
    try:
        with unit_of_work(db.session):
            action(found, operator.actor, utcnow())
    except HubError as refused:
        db.session.expire_all()
        return _detail(review.find(db.session, number), error=refused, reason=reason)
    return redirect(url_for("support.request_detail", number=number, fait=done), 303)


def _detail(
    found: AdminChangeRequest,
    *,
    done: str | None = None,
    error: HubError | None = None,
    reason: str = "",
) -> Page:
    page = render_template(
        "support/request.html",
        title=f"Demande n° {found.number}",
        seen=review.review(db.session, found, now=utcnow()),
        notice=done,
        error=error,
        reason=reason,
        previous_labels=PREVIOUS_LABELS,
    )
    return (page, error.status) if error is not None else page


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 7 else 1
