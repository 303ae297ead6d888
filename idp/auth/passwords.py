"""The password pages (R14): « Mot de passe oublié ? » (a temporary password by mail),
« Choisissez votre nouveau mot de passe » (forced after signing in with it) and « Modifier mon
mot de passe » (a signed-in person, who confirms their current password).

Where the person goes afterwards is `next`, a path on the hub (usually the authorization request
they were on), or the portal named by `portal`, by its registered address only.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from hub.clock import utcnow
from hub.errors import InvalidField
from hub.oidc import signin
from hub.passwords import PASSWORD_MAX, hash_password, verify_password
from hub.portals.models import Portal
from hub.transactions import end_reading, unit_of_work
from hub.users import password_changes, password_policy
from hub.users.models import User
from idp.auth import forms
from idp.extensions import db
from idp.web.client_registry import PortalRecord
from idp.web.csrf import verify_csrf
from idp.web.sessions import current_browser_session
from idp.web.settings import settings_of
from idp.web.throttle import client_address, retry_after

bp = Blueprint("passwords", __name__, url_prefix="/password")

LOGIN_FIELD = "login"
CURRENT_FIELD = "current_password"
NEW_FIELD = "password"
CONFIRM_FIELD = "password_confirmation"

FORGOT_TITLE = "Mot de passe oublié"
SENT = (
    "Si cet identifiant ou cette adresse e-mail correspond à un compte, un courriel contenant un "
    "mot de passe temporaire vient d'y être envoyé. Il est valable 24 heures et ne sert qu'une "
    "fois ; votre mot de passe actuel reste valable tant que vous ne l'avez pas utilisé."
)
# R11: whoever gets no mail because their administrator left, and with them their account.
ADMIN_LEFT = "Votre administrateur ne fait plus partie de votre structure ?"
LOGIN_MISSING = "Saisissez votre identifiant ou votre adresse e-mail."
TOO_MANY_REQUESTS = "Trop de demandes. Réessayez dans quelques minutes."
NEW_TITLE = "Choisissez votre nouveau mot de passe"
CHANGE_TITLE = "Modifier mon mot de passe"
CHANGED = "Votre mot de passe a été modifié. Il sert désormais pour tous les portails."
CURRENT_WRONG = "Le mot de passe actuel est incorrect."
CONFIRMATION_DIFFERS = "Les deux mots de passe ne sont pas identiques."
PASSWORD_MISSING = "Saisissez votre nouveau mot de passe."  # noqa: S105 - a message

Page = str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]


@bp.route("/forgot", methods=["GET", "POST"])
def forgot() -> Page:
    next_path = forms.safe_next(request.values.get(forms.NEXT_FIELD))
    if request.method == "GET":
        return _forgot_page(next_path)
    verify_csrf()
    login = request.form.get(LOGIN_FIELD, "")
    if not signin.is_acceptable_login(login):
        return _forgot_page(next_path, login=login, error=LOGIN_MISSING)
    now, address = utcnow(), client_address()
    until = password_changes.refused_until(db.session, login, ip_address=address, now=now)
    candidate = signin.find_candidate(db.session, login) if until is None else None
    end_reading(db.session)
    if until is not None:
        page = _forgot_page(next_path, login=login, error=TOO_MANY_REQUESTS)
        return page, 429, retry_after(until, now=now)
    temporary = password_changes.prepare_temporary(settings_of(current_app).passwords)
    with unit_of_work(db.session):
        password_changes.issue_temporary(
            db.session,
            login,
            candidate,
            temporary,
            ip_address=address,
            now=now,
            sign_in_url=_sign_in_url(next_path),
        )
    return redirect(_with_query(url_for("passwords.sent"), next=next_path), 303)


@bp.get("/forgot/sent")
def sent() -> Page:
    next_path = forms.safe_next(request.args.get(forms.NEXT_FIELD))
    back = next_path or url_for("auth.login")
    portal = forms.destination(db.session, next_path).portal
    admin_change = url_for("support.request_form", portal=portal.code if portal else None)
    return render_template(
        "message.html",
        title=FORGOT_TITLE,
        message=SENT,
        link=("Retour à la connexion", back),
        help_link=(ADMIN_LEFT, "Demander un changement d'administrateur", admin_change),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> Page:
    """Forced after a sign-in with a temporary password; otherwise there is nothing to do."""
    browser_session = current_browser_session()
    next_path = forms.safe_next(request.values.get(forms.NEXT_FIELD))
    if browser_session is None:
        return redirect(url_for("auth.login"))
    user = browser_session.user
    if not user.password_must_change:
        return redirect(next_path or url_for("auth.home"))
    if request.method == "GET":
        return choose_page(NEW_TITLE, user.username, next_path=next_path)
    verify_csrf()
    return _store(user, next_path=next_path, title=NEW_TITLE, current=None)


@bp.route("/change", methods=["GET", "POST"])
def change() -> Page:
    browser_session = current_browser_session()
    next_path = forms.safe_next(request.values.get(forms.NEXT_FIELD))
    portal = _portal(request.values.get("portal"))
    if browser_session is None:
        here = _with_query(url_for("passwords.change"), portal=portal.code if portal else None)
        return redirect(_with_query(url_for("auth.login"), next=here))
    user = browser_session.user
    if request.method == "GET":
        return choose_page(
            CHANGE_TITLE, user.username, next_path=next_path, portal=portal, ask_current=True
        )
    verify_csrf()
    return _store(
        user,
        next_path=next_path,
        title=CHANGE_TITLE,
        current=request.form.get(CURRENT_FIELD, ""),
        portal=portal,
    )


def _store(
    user: User,
    *,
    next_path: str | None,
    title: str,
    current: str | None,
    portal: PortalRecord | None = None,
) -> Page:
    """Checks the form (the current password when asked, the policy, the confirmation), hashes
    outside any transaction, then stores and says so."""
    settings = settings_of(current_app)
    password = request.form.get(NEW_FIELD, "")
    errors = form_errors(user, password, current)
    end_reading(db.session)  # the slow hashes run outside any transaction
    if current is not None and not errors and not _is_current_password(user, current):
        errors = {CURRENT_FIELD: CURRENT_WRONG}
    if errors:
        page = choose_page(
            title,
            user.username,
            next_path=next_path,
            portal=portal,
            ask_current=current is not None,
            errors=errors,
        )
        return page, 200
    new_hash = hash_password(password, settings.passwords)
    with unit_of_work(db.session):
        password_changes.store_new_password(
            db.session,
            user,
            new_hash,
            by=user,
            now=utcnow(),
            forgot_url=settings.public_url + url_for("passwords.forgot"),
        )
    if next_path:
        return redirect(next_path, 303)
    back = (f"Retourner sur {portal.name}", portal.base_url) if portal else None
    return render_template("message.html", title=title, message=CHANGED, link=back)


def _is_current_password(user: User, password: str) -> bool:
    """The person's own password (a temporary one does not count: it is no proof of knowing
    the password being replaced)."""
    params = settings_of(current_app).passwords
    return len(password) <= PASSWORD_MAX and verify_password(user.password_hash, password, params)


def form_errors(user: User, password: str, current: str | None) -> dict[str, str]:
    errors = {}
    if current is not None and not current:
        errors[CURRENT_FIELD] = "Saisissez votre mot de passe actuel."
    new_password = new_password_errors(
        password, request.form.get(CONFIRM_FIELD, ""), username=user.username, email=user.email
    )
    return errors | new_password


def new_password_errors(
    password: str, confirmation: str, *, username: str, email: str
) -> dict[str, str]:
    """What is wrong with a chosen password (R14's policy) and its confirmation, by field;
    empty when nothing is. Shared by every page where a password is chosen."""
    if not password:
        return {NEW_FIELD: PASSWORD_MISSING}
    try:
        password_policy.check(password, username=username, email=email)
    except InvalidField as error:
        return {NEW_FIELD: error.message}
    if confirmation != password:
        return {CONFIRM_FIELD: CONFIRMATION_DIFFERS}
    return {}


def _forgot_page(next_path: str | None, *, login: str = "", error: str | None = None) -> str:
    return render_template(
        "password_forgot.html",
        title=FORGOT_TITLE,
        next=next_path,
        login=forms.shown_login(login),
        error=error,
        login_field=LOGIN_FIELD,
    )


def choose_page(
    title: str,
    username: str,
    *,
    next_path: str | None,
    portal: PortalRecord | None = None,
    ask_current: bool = False,
    errors: dict[str, str] | None = None,
) -> str:
    return render_template(
        "password_choose.html",
        title=title,
        username=username,
        next=next_path,
        portal=portal,
        ask_current=ask_current,
        errors=errors or {},
        rules=password_policy.RULES,
        fields={"current": CURRENT_FIELD, "new": NEW_FIELD, "confirm": CONFIRM_FIELD},
    )


def _portal(code: str | None) -> PortalRecord | None:
    """A portal named by its code, to go back to after a change (its registered address)."""
    if not code or len(code) > forms.CLIENT_ID_MAX:
        return None
    portal = db.session.scalar(select(Portal).where(Portal.code == code))
    if portal is None:
        return None
    return PortalRecord(portal.id, portal.code, portal.name, portal.base_url)


def _sign_in_url(next_path: str | None) -> str:
    """Where the mail sends the person to sign in: the portal they were signing in to, or the
    hub's sign-in page."""
    destination = forms.destination(db.session, next_path)
    if destination.portal is not None:
        return destination.portal.base_url
    return settings_of(current_app).public_url + url_for("auth.login")


def _with_query(path: str, **query: str | None) -> str:
    kept = {name: value for name, value in query.items() if value}
    return f"{path}?{urlencode(kept)}" if kept else path
