"""The page behind an invitation link (R2 « Créer un compte », issue 12 §2): the person accepts
the account an administrator offered them.

- Someone the hub knows signs in first (or uses « Mot de passe oublié ? »), comes back here and
  accepts in one click: the account joins their identity (R14).
- Someone new, or invited before choosing any password, chooses a password, which also proves
  the mailbox is theirs; they are then signed in.

A forged, expired, used or cancelled link says so and sends them to their administrator, who can
send a new one.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, request

from hub.accounts import acceptance, invitations
from hub.accounts.models import Account, Invitation, Right
from hub.clock import paris_date, utcnow
from hub.errors import HubError, LinkRefused
from hub.passwords import hash_password
from hub.single_use_links import SingleUseLinks
from hub.transactions import end_reading, unit_of_work
from hub.users.models import User
from hub.users.services import available_username
from idp.auth.passwords import CONFIRM_FIELD, NEW_FIELD, choose_page, new_password_errors
from idp.extensions import db
from idp.web.csrf import verify_csrf
from idp.web.pages import render_message
from idp.web.sessions import sign_in, signed_in_as
from idp.web.settings import settings_of

bp = Blueprint("invitations", __name__, url_prefix="/invitation")

TITLE = "Bienvenue : choisissez votre mot de passe"
ACCEPT_TITLE = "Invitation à rejoindre une structure"
DONE_TITLE = "Invitation acceptée"
DONE = (
    "Votre compte sur {portal} pour {structure} est ouvert. Votre identifiant est {username} ; "
    "il sert, avec votre mot de passe, pour tous les portails de la formation."
)
INVALID_TITLE = "Lien d'invitation invalide"
Page = str | Response | tuple[str, int]


def invitation_links() -> SingleUseLinks:
    """The links invitations are mailed with, on this hub (also sent from the admin API and
    the support console)."""
    return invitations.links(current_app.config["SECRET_KEY"], settings_of(current_app).public_url)


@bp.route("/<token>", methods=["GET", "POST"])
def accept(token: str) -> Page:
    if request.method == "POST":
        verify_csrf()
    try:
        invitation = acceptance.open_link(db.session, invitation_links(), token, now=utcnow())
    except LinkRefused as refused:
        return render_message(INVALID_TITLE, refused.message, status=refused.status)
    invitee = invitations.invitee_of(db.session, invitation)
    if invitee is not None and invitee.password_hash is not None:
        return _signed_in_acceptance(invitation, invitee)
    return _password_acceptance(invitation, invitee)


def _signed_in_acceptance(invitation: Invitation, invitee: User) -> Page:
    """Someone known: signed in as that person (anyone else signs in first), one click."""
    elsewhere = signed_in_as(invitee)
    if elsewhere is not None:
        return elsewhere
    if request.method == "GET":
        return render_template(
            "invitation_accept.html",
            title=ACCEPT_TITLE,
            invitation=invitation,
            user=invitee,
            data_exchange=Right.DATA_EXCHANGE in invitation.rights,
            expires_on=paris_date(invitation.expires_at),
        )
    return _accepted(invitation.id, person=invitee)


def _password_acceptance(invitation: Invitation, invitee: User | None) -> Page:
    """Someone new (or who never chose a password): the password, then the account."""
    username = (
        invitee.username
        if invitee is not None
        else available_username(db.session, invitation.first_name or "", invitation.last_name or "")
    )
    if request.method == "GET":
        return choose_page(TITLE, username, next_path=None)
    password = request.form.get(NEW_FIELD, "")
    errors = new_password_errors(
        password,
        request.form.get(CONFIRM_FIELD, ""),
        username=username,
        email=invitee.email if invitee is not None else invitation.invitee,
    )
    if errors:
        return choose_page(TITLE, username, next_path=None, errors=errors), 200
    invitation_id = invitation.id
    end_reading(db.session)  # the slow hash runs outside any transaction
    return _accepted(
        invitation_id, password_hash=hash_password(password, settings_of(current_app).passwords)
    )


def _accepted(
    invitation_id: int, *, person: User | None = None, password_hash: str | None = None
) -> Page:
    try:
        with unit_of_work(db.session):
            account = acceptance.accept(
                db.session,
                invitation_id,
                now=utcnow(),
                person=person,
                password_hash=password_hash,
            )
            if person is None:
                sign_in(account.user)
    except HubError as error:
        return render_message(ACCEPT_TITLE, error.message, status=error.status)
    return _welcome(account)


def _welcome(account: Account) -> Page:
    message = DONE.format(
        portal=account.portal.name, structure=account.structure.name, username=account.user.username
    )
    return render_message(
        DONE_TITLE, message, link=(f"Aller sur {account.portal.name}", account.portal.base_url)
    )
