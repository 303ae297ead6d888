"""The page behind an invitation link (issue 6 §3, R2 « Créer un compte » for a new person):
the person chooses their password, which also proves the mailbox is theirs, and is signed in.
A forged, expired or used link says so and sends them to « Mot de passe oublié ? » or to their
administrator, who can send a new one."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from hub.accounts.models import Account
from hub.audit.services import record
from hub.clock import utcnow
from hub.passwords import hash_password
from hub.transactions import unit_of_work
from hub.users.invitations import Invitations
from hub.users.models import User
from idp import settings_of
from idp.auth.csrf import verify_csrf
from idp.auth.passwords import choose_page, form_errors
from idp.auth.sessions import sign_in
from idp.extensions import db
from idp.pages import render_message

bp = Blueprint("invitations", __name__, url_prefix="/invitation")

TITLE = "Bienvenue : choisissez votre mot de passe"
DONE_TITLE = "Mot de passe enregistré"
DONE = (
    "Votre mot de passe est enregistré. Votre identifiant est {username} ; il sert pour tous "
    "les portails."
)
INVALID_TITLE = "Lien d'invitation invalide"
INVALID = (
    "Ce lien d'invitation n'est plus valable : il a expiré, a déjà servi ou est incomplet. "
    "Demandez à votre administrateur de vous en renvoyer un, ou utilisez « Mot de passe "
    "oublié ? » sur la page de connexion."
)
TOKEN_MAX = 1000

Page = str | Response | tuple[str, int]


def _invitations() -> Invitations:
    return Invitations(current_app.config["SECRET_KEY"], settings_of(current_app).public_url)


@bp.route("/<token>", methods=["GET", "POST"])
def accept(token: str) -> Page:
    user = _invitations().read(db.session, token, now=utcnow()) if len(token) <= TOKEN_MAX else None
    if user is None:
        return render_message(INVALID_TITLE, INVALID, status=404)
    if request.method == "GET":
        return choose_page(TITLE, user.username, next_path=None)
    verify_csrf()
    password = request.form.get("password", "")
    errors = form_errors(user, password, current=None)
    if errors:
        return choose_page(TITLE, user.username, next_path=None, errors=errors), 200
    db.session.commit()  # the slow hash runs outside any transaction
    new_hash = hash_password(password, settings_of(current_app).passwords)
    with unit_of_work(db.session):
        _accept(user, new_hash)
        sign_in(user)
    return _welcome(user)


def _accept(user: User, new_hash: str) -> None:
    """The password is set and the e-mail address verified: the link reached that mailbox.
    Setting the password also retires the link (its fingerprint changes)."""
    user.password_hash = new_hash
    user.email_verified = True
    user.password_must_change = False
    record(db.session, actor=user, action="user.invitation_accepted", now=utcnow(), target=user)


def _welcome(user: User) -> Page:
    account = db.session.scalar(
        select(Account).where(Account.user_id == user.id).order_by(Account.created_at).limit(1)
    )
    link = None
    if account is not None:
        link = (f"Aller sur {account.portal.name}", account.portal.base_url)
    return render_message(DONE_TITLE, DONE.format(username=user.username), link=link)
