"""The support console's shell (R11): « Connexion à la console du support » from the
organisation's directory, sign-out, « Confirmez votre mot de passe » before a change, and the
layout every console page shares (`support/base.html`: the operator's name and role, the
navigation, the sign-out button).

Statuses, like the hub's own sign-in page: a refused attempt shows the form again (200) with the
directory's one refusal, a directory that does not answer 503, throttling 429 with
`Retry-After`; a sign-in redirects with 303 to the console page asked for (`next`, a console
path only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Response, current_app, redirect, render_template, request, url_for

from hub.clock import utcnow
from hub.errors import DirectoryRefused, DirectoryUnavailable
from hub.support import sessions
from hub.support.operators import LOGIN_MAX, PASSWORD_MAX, Operator
from hub.transactions import end_reading, unit_of_work
from idp.extensions import db
from idp.support import access
from idp.support.blueprint import bp
from idp.web.csrf import verify_csrf
from idp.web.pages import render_message
from idp.web.settings import settings_of
from idp.web.throttle import client_address, retry_after

if TYPE_CHECKING:
    from hub.support.directory import Directory

QUEUE = "/support/demandes"  # the requests' queue (`support.queue`), the console's home
LOGIN_FIELD = "login"
PASSWORD_FIELD = "password"  # noqa: S105 - a field's name
LOGIN_MISSING = "Saisissez votre identifiant."
PASSWORD_MISSING = "Saisissez votre mot de passe."  # noqa: S105 - a message
TOO_MANY_ATTEMPTS = "Trop de tentatives : réessayez dans quelques minutes."
SIGNED_OUT_TITLE = "Déconnexion"
SIGNED_OUT = "Vous êtes déconnecté de la console du support."
THROTTLED_STATUS = 429
UNAVAILABLE_STATUS = 503
Page = str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]

bp.before_request(access.load_operator)
bp.after_request(access.apply_cookie)


@bp.context_processor
def console_layout() -> dict[str, Any]:
    """What `support/base.html` shows on every console page."""
    if not access.is_console_path(request.path):
        return {}
    queue = "support.queue"
    return {
        "operator": access.current_operator(),
        "queue_url": url_for(queue) if queue in current_app.view_functions else QUEUE,
    }


@bp.get("/support")
@access.signed_in
def home() -> Response:
    return redirect(QUEUE, 303)


@bp.route("/support/connexion", methods=["GET", "POST"])
def sign_in() -> Page:
    destination = access.safe_next(request.values.get("next")) or QUEUE
    if request.method == "GET":
        if access.current_operator() is not None:
            return redirect(destination, 303)
        return _sign_in_page(destination)
    verify_csrf()
    login = request.form.get(LOGIN_FIELD, "").strip()
    password = request.form.get(PASSWORD_FIELD, "")
    errors = _missing(login, password)
    if errors:
        return _sign_in_page(destination, login=login, field_errors=errors)
    directory = access.directory()
    if directory is None:  # `load_operator` closed the console already
        return redirect(access.CONSOLE, 303)
    outcome = _check(directory, login, password)
    if isinstance(outcome, tuple):
        status, message, headers = outcome
        return _sign_in_page(destination, login=login, error=message), status, headers
    now = utcnow()
    with unit_of_work(db.session):
        previous = access.current_session()
        if previous is not None:  # a key is never carried over a sign-in
            sessions.end(db.session, previous, now=now)
        row, cookie_value = sessions.start(
            db.session, outcome, now=now, ip_address=client_address()
        )
    access.start_session(row, cookie_value)
    return redirect(destination, 303)


@bp.post("/support/deconnexion")
@access.signed_in
def sign_out() -> Page:
    verify_csrf()
    row = access.current_session()
    if row is not None:
        end_reading(db.session)
        with unit_of_work(db.session):
            sessions.end(db.session, row, now=utcnow())
    access.forget()
    link = ("Se reconnecter", url_for("support.sign_in"))
    return render_message(SIGNED_OUT_TITLE, SIGNED_OUT, link=link)


@bp.route("/support/confirmer", methods=["GET", "POST"])
@access.signed_in
def confirm() -> Page:
    """Re-authentication before a change: the signed-in operator's password, checked by the
    directory again, then back to the page they came from."""
    destination = access.safe_next(request.values.get("next")) or access.CONSOLE
    notice = access.confirm_first_message() if request.values.get("raison") else None
    if request.method == "GET":
        return _confirm_page(destination, notice=notice)
    verify_csrf()
    row = access.current_session()
    directory = access.directory()
    if row is None or directory is None:
        return redirect(access.CONSOLE, 303)
    password = request.form.get(PASSWORD_FIELD, "")
    if not password:
        return _confirm_page(destination, notice=notice, field_error=PASSWORD_MISSING)
    outcome = _check(directory, row.login, password)
    if isinstance(outcome, tuple):
        status, message, headers = outcome
        return _confirm_page(destination, notice=notice, error=message), status, headers
    with unit_of_work(db.session):
        sessions.reauthenticated(row, utcnow(), operator=outcome)
    return redirect(destination, 303)


def _check(
    directory: Directory, login: str, password: str
) -> Operator | tuple[int, str, dict[str, str]]:
    """The operator the directory lets in, or (status, message, headers) of the refusal.
    Throttled attempts never reach the directory; refusals are counted, a directory that does
    not answer is not (nobody guessed anything)."""
    settings = settings_of(current_app)
    now, address = utcnow(), client_address()
    until = sessions.refused_until(db.session, login, ip_address=address, now=now)
    end_reading(db.session)
    if until is not None:
        with unit_of_work(db.session):
            sessions.refuse(db.session, login=login, ip_address=address, now=now, until=until)
        return THROTTLED_STATUS, TOO_MANY_ATTEMPTS, retry_after(until, now=now)
    try:
        return directory.authenticate(login, password)
    except DirectoryRefused as refused:
        with unit_of_work(db.session):
            sessions.fail(
                db.session,
                login=login,
                ip_address=address,
                now=now,
                throttling=settings.throttling,
                reason=refused.code,
            )
        return 200, refused.message, {}
    except DirectoryUnavailable as unavailable:
        return UNAVAILABLE_STATUS, unavailable.message, {}


def _missing(login: str, password: str) -> dict[str, str]:
    errors = {}
    if not login:
        errors[LOGIN_FIELD] = LOGIN_MISSING
    if not password:
        errors[PASSWORD_FIELD] = PASSWORD_MISSING
    return errors


def _sign_in_page(
    destination: str,
    *,
    login: str = "",
    error: str | None = None,
    field_errors: dict[str, str] | None = None,
) -> str:
    return render_template(
        "support/connexion.html",
        title="Connexion à la console du support",
        next=destination,
        login=login[:LOGIN_MAX],
        error=error,
        field_errors=field_errors or {},
        login_max=LOGIN_MAX,
        password_max=PASSWORD_MAX,
    )


def _confirm_page(
    destination: str,
    *,
    notice: str | None = None,
    error: str | None = None,
    field_error: str | None = None,
) -> str:
    return render_template(
        "support/confirmer.html",
        title="Confirmez votre mot de passe",
        next=destination,
        notice=notice,
        error=error,
        field_error=field_error,
        password_max=PASSWORD_MAX,
    )
