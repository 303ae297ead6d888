"""`/api/v1/me`: a person's own identity and accounts (R6, R8, R14), for « Mes informations »
and « Mes portails » on every portal. A person reads and edits only themself: the person is the
access token's, never a parameter."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import select

from hub.accounts import policies
from hub.accounts.models import Account
from hub.accounts.services import delete_account
from hub.clock import utcnow
from hub.errors import HubError, InvalidField, NotFound
from hub.oidc import sessions
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.transactions import unit_of_work
from hub.users.models import User
from hub.users.services import update_contact_details
from idp import settings_of
from idp.api.bearer import current_caller, requires_scope
from idp.api.responses import problem
from idp.extensions import db

bp = Blueprint("api_me", __name__, url_prefix="/api/v1/me")


def identity(user: User) -> dict[str, Any]:
    return {
        "sub": user.public_id,
        "username": user.username,
        "civility": user.civility.value if user.civility else None,
        "last_name": user.last_name,
        "first_name": user.first_name,
        "email": user.email,
        "email_verified": user.email_verified,
        "service": user.service,
        "mobile_phone": user.mobile_phone,
        "landline_phone": user.landline_phone,
    }


@bp.get("")
@requires_scope("profile")
def show() -> Response:
    return jsonify(identity(current_caller().user))


@bp.patch("")
@requires_scope("profile")
def update() -> tuple[Response, int] | Response:
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        return problem(InvalidField("body", "Le corps de la requête doit être un objet JSON."))
    user = current_caller().user
    try:
        with unit_of_work(db.session):
            update_contact_details(db.session, user, by=user, now=utcnow(), **changes)
    except HubError as error:
        return problem(error)
    return jsonify(identity(user))


@bp.get("/accounts")
@requires_scope("accounts")
def accounts() -> Response:
    user, now = current_caller().user, utcnow()
    connected = sessions.connected_portal_ids(
        db.session, user.id, now=now, lifetimes=settings_of(current_app).oidc
    )
    own = db.session.scalars(
        select(Account).where(Account.user_id == user.id).order_by(Account.expires_at)
    ).all()
    entries = [
        _entry(a.portal, a.structure, a.role.value, None, a.expires_at, now, connected) for a in own
    ]
    held = {(a.structure_id, a.portal_id) for a in own}
    entries += [
        _entry(g.portal, g.structure, "admin", g.via.code, g.expires_at, now, connected)
        for g in policies.administered(db.session, user, now=now)
        if g.via is not None and (g.structure.id, g.portal.id) not in held
    ]
    return jsonify(entries)


@bp.delete("/accounts/<portal_code>/<matricule>")
@requires_scope("accounts")
def delete(portal_code: str, matricule: str) -> tuple[Response, int] | Response:
    """R6: a person deletes their own account on one portal (not the last administrator)."""
    user = current_caller().user
    account = db.session.scalar(
        select(Account)
        .join(Account.portal)
        .join(Account.structure)
        .where(Account.user_id == user.id, Portal.code == portal_code)
        .where(Structure.matricule == matricule)
    )
    if account is None:
        return problem(NotFound("Compte introuvable."))
    try:
        with unit_of_work(db.session):
            delete_account(db.session, account, by=user, now=utcnow())
    except HubError as error:
        return problem(error)
    return Response(status=204)


def _entry(
    portal: Portal,
    structure: Structure,
    role: str,
    via: str | None,
    expires_at: datetime,
    now: datetime,
    connected: set[int],
) -> dict[str, Any]:
    return {
        "portal": {"code": portal.code, "name": portal.name, "base_url": portal.base_url},
        "structure": {"matricule": structure.matricule, "name": structure.name},
        "role": role,
        "via": via,
        "expires_at": expires_at.isoformat(),
        "expired": expires_at <= now,
        "connected": portal.id in connected,
    }
