"""`/api/v1/admin`: « Administration » for the portals (R2, R4, R7, R9, R15), called with the
signed-in admin's access token (scope `admin`).

The caller is the token's person and the calling portal the token's client's: from SOLTÉA an
admin manages SOLTÉA and, by delegation (R9), Certificateurs; from Certificateurs only
Certificateurs. Every decision is the hub's, taken again at each call, each once:
1. the blueprint, before any view reads the request: a live token with scope `admin`
   (`bearer.protect`), then R15, an « Administration » on the calling portal
   (`administrators_only`: 403 and the refusal audited otherwise);
2. the hub function that acts, as its first step (`hub.accounts.reach.authorise`, given the
   calling portal as `from_portal`): whatever lies outside the caller's reach — a structure, a
   portal, an account id, an invitation — is answered 404, exactly like what does not exist.
Views parse, call the hub, and answer JSON (a domain error as its `problem`); each write is one
transaction whose every change the services audit, with the calling portal as `via_portal`.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from hub.accounts import invitations, listing, policies, reach
from hub.accounts.history import structure_history
from hub.accounts.models import DEFAULT_RIGHTS, Right, Role
from hub.accounts.services import (
    IDEMPOTENCY_KEY_MAX,
    change_role,
    delete_account,
    renew_many,
    set_right,
)
from hub.audit.services import refusal
from hub.clock import utcnow
from hub.errors import InvalidField, NotFound
from hub.transactions import unit_of_work
from hub.users.services import CONTACT_FIELDS
from idp.api import admin_json, parameters
from idp.api.bearer import current_caller, protect
from idp.auth.invitations import invitation_links
from idp.extensions import db

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1/admin")
protect(bp, scope="admin")

ACCOUNT_ID = "<int:account_id>"  # any size: the hub answers 404 for what names nothing
INVITATION_ID = "<int:invitation_id>"
PERSON_FIELDS = ("email", *CONTACT_FIELDS)
CHOICE_FIELDS = ("role", "data_exchange")
NO_SCOPE = "Vous n'administrez aucune structure depuis ce portail."
BOTH_WAYS = "Choisissez une personne existante ou saisissez une nouvelle personne, pas les deux."


@bp.before_request
def administrators_only() -> None:
    """R15, once per call and before the request is read: a person who administers nothing from
    the calling portal is refused whatever they ask (403, and the refusal audited)."""
    caller = current_caller()
    if not policies.administers_from(db.session, caller.user, caller.portal, now=utcnow()):
        with unit_of_work(db.session):  # which audits the refusal
            raise refusal(caller.user, "admin.access", portal=caller.portal, message=NO_SCOPE)


@bp.get("/scope")
def scope() -> Response:
    caller = current_caller()
    grants = policies.administered(db.session, caller.user, now=utcnow(), from_portal=caller.portal)
    return jsonify(admin_json.scope(grants, caller.portal))


@bp.get("/structures/<matricule>/portals/<portal_code>/accounts")
def accounts(matricule: str, portal_code: str) -> Response:
    caller, now = current_caller(), utcnow()
    args = request.args
    search = parameters.text(args, "q", max_length=listing.SEARCH_MAX, printable=False)
    status = parameters.choice(args, "status", listing.Status, default=None, blank_is_absent=True)
    sort = parameters.choice(
        args, "sort", listing.Sort, default=listing.Sort.EXPIRY, blank_is_absent=True
    )
    page = parameters.page_number(args)
    per_page = parameters.page_size(args, default=listing.PER_PAGE)
    structure, portal = reach.pair(db.session, matricule, portal_code)
    found = listing.account_page(
        db.session,
        structure,
        portal,
        by=caller.user,
        now=now,
        from_portal=caller.portal,
        search=search,
        status=status,
        sort=sort or listing.Sort.EXPIRY,
        page=page,
        per_page=per_page,
    )
    delegated = listing.delegated_admins(db.session, structure, portal, now=now)
    return jsonify(
        items=[admin_json.account(a, now=now) for a in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        delegated_admins=[admin_json.delegated_admin(admin) for admin in delegated],
    )


@bp.post("/structures/<matricule>/portals/<portal_code>/accounts")
def create(matricule: str, portal_code: str) -> tuple[Response, int]:
    """R2: « Créer un compte », as an invitation the person accepts; the answer carries only
    what the administrator typed, whether the hub knows the person or not."""
    caller, now = current_caller(), utcnow()
    body = parameters.json_object(allowed=("existing", *PERSON_FIELDS, *CHOICE_FIELDS))
    role = parameters.choice(body, "role", Role, default=Role.USER)
    data_exchange = parameters.boolean(body, "data_exchange", default=True)
    existing = parameters.text(body, "existing", max_length=254) or None
    person = {name: parameters.optional_text(body, name) for name in PERSON_FIELDS if name in body}
    if existing is not None and person:
        raise InvalidField("existing", BOTH_WAYS)
    with unit_of_work(db.session):
        structure, portal = reach.pair(db.session, matricule, portal_code)
        invitation = invitations.invite(
            db.session,
            by=caller.user,
            from_portal=caller.portal,
            structure=structure,
            portal=portal,
            now=now,
            links=invitation_links(),
            existing=existing,
            person=person,
            role=role or Role.USER,
            rights=DEFAULT_RIGHTS if data_exchange else frozenset(),
        )
    return jsonify(invitation=admin_json.invitation(invitation, now=now)), 201


@bp.get("/structures/<matricule>/portals/<portal_code>/invitations")
def pending_invitations(matricule: str, portal_code: str) -> Response:
    """« Invitation envoyée »: the pair's invitations still waiting for their person."""
    caller, now = current_caller(), utcnow()
    structure, portal = reach.pair(db.session, matricule, portal_code)
    waiting = invitations.pending(
        db.session, structure, portal, by=caller.user, now=now, from_portal=caller.portal
    )
    return jsonify(items=[admin_json.invitation(i, now=now) for i in waiting])


@bp.post(f"/invitations/{INVITATION_ID}/send")
def send_invitation_again(invitation_id: int) -> Response:
    """« Renvoyer l'invitation »: a new link; earlier ones stop working."""
    caller, now = current_caller(), utcnow()
    with unit_of_work(db.session):
        invitation = reach.invitation(db.session, invitation_id)
        invitations.send_again(
            db.session,
            invitation,
            by=caller.user,
            links=invitation_links(),
            now=now,
            from_portal=caller.portal,
        )
    return jsonify(admin_json.invitation(invitation, now=now))


@bp.delete(f"/invitations/{INVITATION_ID}")
def cancel_invitation(invitation_id: int) -> Response:
    """« Annuler l'invitation »."""
    caller, now = current_caller(), utcnow()
    with unit_of_work(db.session):
        invitation = reach.invitation(db.session, invitation_id)
        invitations.cancel(
            db.session, invitation, by=caller.user, now=now, from_portal=caller.portal
        )
    return Response(status=204)


@bp.post("/accounts/renew")
def renew() -> Response:
    """R4 for one account or a selection; the same idempotency key renews once."""
    caller, now = current_caller(), utcnow()
    body = parameters.json_object(allowed=("ids", "idempotency_key"))
    ids = parameters.id_list(body, "ids", maximum=reach.SELECTION_MAX)
    key = parameters.text(body, "idempotency_key", max_length=IDEMPOTENCY_KEY_MAX, required=True)
    with unit_of_work(db.session):
        renewed = renew_many(
            db.session,
            reach.accounts(db.session, ids),
            by=caller.user,
            now=now,
            key=key,
            from_portal=caller.portal,
        )
    return jsonify(accounts=[{"id": a.id, "expires_at": a.expires_at.isoformat()} for a in renewed])


@bp.patch(f"/accounts/{ACCOUNT_ID}")
def change(account_id: int) -> Response:
    """R2: promote or demote (the last administrator stays); R7: withdraw or give back
    « Transmettre et consulter les données »."""
    caller, now = current_caller(), utcnow()
    body = parameters.json_object(allowed=CHOICE_FIELDS)
    if not body:
        raise InvalidField("body", "Indiquez le rôle ou le droit à modifier.")
    role = parameters.choice(body, "role", Role, default=None)
    data_exchange = parameters.boolean(body, "data_exchange", default=None)
    with unit_of_work(db.session):
        [account] = reach.accounts(db.session, [account_id])
        if role is not None:
            change_role(
                db.session, account, role, by=caller.user, now=now, from_portal=caller.portal
            )
        if data_exchange is not None:
            set_right(
                db.session,
                account,
                Right.DATA_EXCHANGE,
                data_exchange,
                by=caller.user,
                now=now,
                from_portal=caller.portal,
            )
    return jsonify(admin_json.account(account, now=now))


@bp.delete(f"/accounts/{ACCOUNT_ID}")
def delete(account_id: int) -> Response:
    """R2: an admin deletes an account of their structure (never the last administrator)."""
    caller, now = current_caller(), utcnow()
    with unit_of_work(db.session):
        [account] = reach.accounts(db.session, [account_id])
        delete_account(db.session, account, by=caller.user, now=now, from_portal=caller.portal)
    return Response(status=204)


@bp.get("/structures/<matricule>/history")
def history(matricule: str) -> Response:
    """« Historique »: the structure's administrative actions on the portals the caller
    manages for it from here, newest first."""
    caller, now = current_caller(), utcnow()
    args = request.args
    page = parameters.page_number(args)
    per_page = listing.clamp_per_page(parameters.page_size(args, default=listing.PER_PAGE))
    structure, portals = reach.administered_structure(
        db.session, matricule, by=caller.user, from_portal=caller.portal, now=now
    )
    codes = [portal.code for portal in portals]
    wanted = args.get("portal")
    if wanted:
        if wanted not in codes:
            raise NotFound(reach.PAIR_NOT_FOUND)
        codes = [wanted]
    found = structure_history(
        db.session, structure.id, portal_codes=codes, page=page, per_page=per_page
    )
    return jsonify(
        items=[admin_json.history_entry(entry) for entry in found.items],
        total=found.total,
        page=found.page,
        per_page=found.per_page,
    )
