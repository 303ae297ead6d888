"""`/api/v1/me`: a person's own identity and accounts (R6, R8, R14), for « Mes informations »
and « Mes portails » on every portal. A person reads and edits only themself: the person is the
access token's, never a parameter.

A new `email` is not applied by PATCH: the hub mails a validation link to the new address (and a
notice to the current one) and the answer still shows the current address, which changes when
the link is followed (`hub.email_changes`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import select

from hub.accounts import policies
from hub.accounts.models import Account
from hub.accounts.services import delete_account
from hub.clock import utcnow
from hub.email_changes import services as email_changes
from hub.errors import InvalidField, NotFound
from hub.oidc import sessions
from hub.portals.models import Portal
from hub.single_use_links import SingleUseLinks
from hub.structures.models import Structure
from hub.transactions import unit_of_work
from hub.users.models import User
from hub.users.services import CONTACT_FIELDS, update_contact_details
from idp.api import admin_json, parameters
from idp.api.bearer import current_caller, requires_scope
from idp.extensions import db
from idp.web.settings import settings_of

bp = Blueprint("api_me", __name__, url_prefix="/api/v1/me")

ACCOUNT_NOT_FOUND = "Compte introuvable."


def identity(user: User) -> dict[str, Any]:
    """The person as administrators see them (`admin_json.person`), and whether their e-mail
    address is verified, which only they need."""
    return admin_json.person(user) | {"email_verified": user.email_verified}


@bp.get("")
@requires_scope("profile")
def show() -> Response:
    return jsonify(identity(current_caller().user))


@bp.patch("")
@requires_scope("profile")
def update() -> Response:
    caller = current_caller()
    user = caller.user
    changes = parameters.json_object(allowed=None)
    new_email = parameters.optional_text(changes, "email")
    changes.pop("email", None)
    for name in changes:
        if name not in CONTACT_FIELDS:
            raise InvalidField(name, "Ce champ ne peut pas être modifié.")
        parameters.optional_text(changes, name)  # text or null: never a number, a list…
    with unit_of_work(db.session):
        now = utcnow()
        update_contact_details(db.session, user, by=user, now=now, **changes)
        if new_email is not None:
            email_changes.request_change(
                db.session, user, new_email, portal=caller.portal, now=now, links=_email_links()
            )
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
def delete(portal_code: str, matricule: str) -> Response:
    """R6: a person deletes their own account on one portal (not the last administrator)."""
    user = current_caller().user
    if not (parameters.names_something(portal_code) and parameters.names_something(matricule)):
        raise NotFound(ACCOUNT_NOT_FOUND)
    account = db.session.scalar(
        select(Account)
        .join(Account.portal)
        .join(Account.structure)
        .where(Account.user_id == user.id, Portal.code == portal_code)
        .where(Structure.matricule == matricule)
    )
    if account is None:
        raise NotFound(ACCOUNT_NOT_FOUND)
    with unit_of_work(db.session):
        delete_account(db.session, account, by=user, now=utcnow())
    return Response(status=204)


def _email_links() -> SingleUseLinks:
    settings = settings_of(current_app)
    return email_changes.links(current_app.config["SECRET_KEY"], settings.public_url)


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
