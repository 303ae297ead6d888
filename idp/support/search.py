"""The console's « Recherche » (R11): one box over structures and people, a structure's page and
a person's page — what support reads before answering — and the repairs it is asked for, each a
POST behind `access.acting` (operators only, password confirmed recently), one transaction,
audited as the operator, answered by the page it came from with a French confirmation.

Readers see every page but no action button; their POSTs are refused by `acting`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Response, abort, redirect, render_template, request, url_for

from hub.actors import SupportOperator
from hub.clock import utcnow
from hub.support import repairs
from hub.support import search as lookup
from hub.transactions import end_reading, unit_of_work
from idp.auth.invitations import invitation_links
from idp.extensions import db
from idp.support import access
from idp.support.blueprint import bp
from idp.web.errors import refusals_titled

TITLE = "Console du support"
DONE = {
    "invitation": (
        "L'invitation a été renvoyée : un nouveau lien a été envoyé par courriel, les "
        "précédents ne fonctionnent plus."
    ),
    "deblocage": "Le blocage de connexion a été levé : la personne peut de nouveau se connecter.",
    "renouvellement": "Le compte a été renouvelé : la personne en est informée par courriel.",
}
NOT_FOUND_STRUCTURE = "Aucune structure n'a ce matricule."
NOT_FOUND_PERSON = "Aucune personne n'a cet identifiant."


@bp.get("/support/recherche")
@access.signed_in
def search() -> str:
    query = request.args.get("q", "")
    results = lookup.search(db.session, query, now=utcnow()) if query.strip() else None
    return render_template(
        "support/recherche.html",
        title="Recherche",
        query=query[: lookup.QUERY_MAX],
        results=results,
        **_shared(),
    )


@bp.get("/support/structures/<matricule>")
@access.signed_in
def structure(matricule: str) -> str:
    found = lookup.find_structure(db.session, matricule)
    if found is None:
        abort(404, description=NOT_FOUND_STRUCTURE)
    page = request.args.get("page", "1")
    number = int(page) if page.isdigit() and len(page) <= 6 else 1
    history = lookup.history(db.session, found, page=number)
    return render_template(
        "support/structure.html",
        title=f"{found.name} ({found.matricule})",
        view=lookup.structure_view(db.session, found, now=utcnow()),
        history=history,
        **_shared(),
    )


@bp.get("/support/personnes/<username>")
@access.signed_in
def person(username: str) -> str:
    found = lookup.find_person(db.session, username)
    if found is None:
        abort(404, description=NOT_FOUND_PERSON)
    return render_template(
        "support/personne.html",
        title=found.full_name,
        view=lookup.person_view(db.session, found, now=utcnow()),
        **_shared(),
    )


@bp.post("/support/invitations/<int:invitation_id>/renvoyer")
@refusals_titled(TITLE)
@access.acting
def resend_invitation(invitation_id: int) -> Response:
    links = invitation_links()

    def resend(by: SupportOperator, now: datetime) -> str:
        invitation = repairs.resend_invitation(
            db.session, invitation_id, by=by, links=links, now=now
        )
        return url_for("support.structure", matricule=invitation.structure.matricule)

    return _repaired("invitation", resend)


@bp.post("/support/comptes/<int:account_id>/renouveler")
@refusals_titled(TITLE)
@access.acting
def renew_account(account_id: int) -> Response:
    def renew(by: SupportOperator, now: datetime) -> str:
        account = repairs.renew_account(db.session, account_id, by=by, now=now)
        return url_for("support.structure", matricule=account.structure.matricule)

    return _repaired("renouvellement", renew)


@bp.post("/support/personnes/<username>/debloquer")
@refusals_titled(TITLE)
@access.acting
def unlock(username: str) -> Response:
    def lift(by: SupportOperator, now: datetime) -> str:
        user = repairs.unlock(db.session, username, by=by, now=now)
        return url_for("support.person", username=user.username)

    return _repaired("deblocage", lift)


def _repaired(what: str, repair: Callable[[SupportOperator, datetime], str]) -> Response:
    """Runs `repair` in its own unit of work as the signed-in operator; back to the page the
    form was on (or the one `repair` names) with the confirmation."""
    operator = _operator()
    end_reading(db.session)
    with unit_of_work(db.session):
        fallback = repair(operator.actor, utcnow())
    return _done(what, fallback)


def _operator() -> access.ConsoleOperator:
    operator = access.current_operator()
    if operator is None:  # `acting` let the request through: the session exists
        abort(403)
    return operator


def _done(what: str, fallback: str) -> Response:
    """Back to the page the form was on (or `fallback`), which shows the confirmation."""
    given = _without_notice(access.safe_next(request.form.get("next")) or fallback)
    separator = "&" if "?" in given else "?"
    return redirect(f"{given}{separator}{urlencode({'fait': what})}", 303)


def _shared() -> dict[str, object]:
    """What every page of the search shows: the confirmation of a repair just made,
    the current time (expired or not), where forms come back to."""
    return {
        "notice": DONE.get(request.args.get("fait", "")),
        "now": utcnow(),
        "here": _without_notice(access.come_back_to()),
    }


def _without_notice(path: str) -> str:
    """Where this page's forms come back to, without the confirmation it is showing now."""
    parts = urlsplit(path)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "fait"])
    return f"{parts.path}?{query}" if query else parts.path
