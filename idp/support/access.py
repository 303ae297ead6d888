"""Who is at the support console (R11), as the web app sees it: the console's own cookie,
`hub_support` (`__Host-hub_support` over https, `idp.web.cookies`), looked up once per request,
and the two guards of its views.

- `signed_in`: a live console session, else 303 to « Connexion à la console » coming back here
  (`next`, a path under /support only: no open redirect).
- `acting`: `signed_in`, and an operator (a reader gets a 403 page, the attempt audited); a POST
  also needs the password checked within `Support.reauth_minutes`, else 303 to
  « Confirmez votre mot de passe » and nothing of the POST is applied. The page to come back to
  is the form's `next` field (a console path), else the page the form was on (`Referer`).

The console's forms carry `csrf_token()` like every form of the hub; on a console page it is
bound to the console session (`idp.web.csrf.bind_to`), so that only the browser holding it can
post them. Every console request resolves its session first (`load_operator`, before any view of
the blueprint under /support), so that a form and its check always agree on the binding.

The directory the console signs in from is chosen once per app (`directory`): `Settings.ldap`,
else the demo's embedded one when `Support.demo_directory`, else none and the console answers
that it is not configured.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import Response, current_app, g, redirect, request

from hub.actors import SupportOperator
from hub.clock import utcnow
from hub.support import sessions
from hub.support.models import OperatorRole, SupportSession
from hub.transactions import end_reading, unit_of_work
from idp.extensions import db
from idp.web import cookies, csrf
from idp.web.pages import render_message
from idp.web.settings import settings_of

if TYPE_CHECKING:
    from hub.support.directory import Directory

COOKIE_NAME = "hub_support"
CONSOLE = "/support"
SIGN_IN = "/support/connexion"
CONFIRM = "/support/confirmer"
NEXT_MAX = 500
DIRECTORY_KEY = "hub.support.directory"

NOT_CONFIGURED_TITLE = "Console du support"
NOT_CONFIGURED = "La console du support n'est pas configurée (HUB_LDAP_URL)."
READ_ONLY_TITLE = "Action non autorisée"
READ_ONLY = "Votre rôle (lecture seule) ne permet pas cette action."
CONFIRM_FIRST = (
    "Pour confirmer cette modification, saisissez de nouveau votre mot de passe : votre "
    "dernière saisie date de plus de {minutes} minutes."
)

View = TypeVar("View", bound=Callable[..., Any])
_UNSET = object()


@dataclass(frozen=True)
class ConsoleOperator:
    """The operator signed in to the console for this request."""

    login: str
    name: str
    role: OperatorRole
    session_id: int

    @property
    def can_act(self) -> bool:
        return self.role.can_act

    @property
    def role_label(self) -> str:
        return sessions.role_label(self.role)

    @property
    def actor(self) -> SupportOperator:
        """Who the audit log names for what this operator does."""
        return SupportOperator.named(self.login, self.name)


def directory() -> Directory | None:
    """The directory operators sign in from, created once per app (its server object, and so
    its TLS set-up, is reused by every sign-in); None when the console is not configured."""
    extensions = current_app.extensions
    if DIRECTORY_KEY not in extensions:
        # Here, not with this module: the directory's client (ldap3) loads with it, and most
        # web workers never serve the console (`hub.support.directory`).
        from hub.support.directory import Directory, demo_directory

        settings = settings_of(current_app)
        if settings.ldap is not None:
            extensions[DIRECTORY_KEY] = Directory(settings.ldap)
        elif settings.support.demo_directory:
            extensions[DIRECTORY_KEY] = demo_directory()
        else:
            extensions[DIRECTORY_KEY] = None
    return extensions[DIRECTORY_KEY]


def current_session() -> SupportSession | None:
    """The live console session of this browser, if any (cached for the request)."""
    cached = g.get("support_session", _UNSET)
    if cached is _UNSET:
        settings = settings_of(current_app).support
        cached = sessions.find_active(
            db.session, cookies.read(COOKIE_NAME), now=utcnow(), settings=settings
        )
        g.support_session = cached
    return cached  # type: ignore[return-value]


def current_operator() -> ConsoleOperator | None:
    """The operator signed in to the console, or None."""
    row = current_session()
    if row is None:
        return None
    return ConsoleOperator(login=row.login, name=row.name, role=row.role, session_id=row.id)


def load_operator() -> Response | None:
    """`before_request` of the console's pages: a console without a directory is closed; else
    the session is found, kept from idling out, and the CSRF token bound to it."""
    if not is_console_path(request.path):
        return None
    if directory() is None:
        page, status = render_message(NOT_CONFIGURED_TITLE, NOT_CONFIGURED, status=503)
        return Response(page, status=status, mimetype="text/html")
    row = current_session()
    if row is None:
        return None
    now = utcnow()
    if sessions.needs_touch(row, now=now):
        end_reading(db.session)
        with unit_of_work(db.session):
            sessions.touch(row, now=now)
    csrf.bind_to("support", row.key_hash)
    return None


def start_session(row: SupportSession, cookie_value: str) -> None:
    """After a sign-in: this request's session is the new one, and its cookie is set."""
    g.support_session = row
    g.set_support_cookie = cookie_value
    csrf.bind_to("support", row.key_hash)


def forget() -> None:
    """After sign-out: the cookie is deleted."""
    g.support_session = None
    g.set_support_cookie = ""


def apply_cookie(response: Response) -> Response:
    """`after_request`: writes what `start_session` or `forget` decided."""
    value = g.get("set_support_cookie")
    if value is None:
        return response
    if value == "":
        cookies.expire(response, COOKIE_NAME)
        return response
    hours = settings_of(current_app).support.session_hours
    cookies.store(response, COOKIE_NAME, value, max_age=int(timedelta(hours=hours).total_seconds()))
    return response


def safe_next(value: str | None) -> str | None:
    """`value` when it is a path of the console (nothing else: no scheme, no host, no `//`,
    no backslash), else None."""
    if not value or len(value) > NEXT_MAX or not value.isprintable() or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or value.startswith("//"):
        return None
    return value if is_console_path(parts.path) else None


def come_back_to() -> str:
    """The console page to return to after signing in or confirming the password: this page
    for a GET; for a POST, the form's `next`, else the page the form was on, else the console."""
    if request.method == "GET":
        here = request.full_path.rstrip("?") if request.query_string else request.path
        return safe_next(here) or CONSOLE
    given = safe_next(request.form.get("next"))
    if given:
        return given
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host:
        path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
        return safe_next(path) or CONSOLE
    return CONSOLE


def redirect_with_next(path: str, destination: str, **query: str) -> Response:
    return redirect(f"{path}?{urlencode({'next': destination, **query})}", 303)


def signed_in(view: View) -> View:
    """No live console session: to the sign-in page, coming back here once signed in."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if current_session() is None:
            return redirect_with_next(SIGN_IN, come_back_to())
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def acting(view: View) -> View:
    """Signed in as an operator (readers only see); a POST with the password checked recently."""

    @wraps(view)
    @signed_in
    def guarded(*args: Any, **kwargs: Any) -> Any:
        row = current_session()
        now = utcnow()
        if row is None:  # `signed_in` saw it; gone only if ended meanwhile
            return redirect_with_next(SIGN_IN, come_back_to())
        if not row.role.can_act:
            end_reading(db.session)
            with unit_of_work(db.session):
                sessions.refuse_action(db.session, row, path=request.path, now=now)
            page, status = render_message(READ_ONLY_TITLE, READ_ONLY, status=403)
            return Response(page, status=status, mimetype="text/html")
        if request.method == "POST":
            csrf.verify_csrf()
            settings = settings_of(current_app).support
            if sessions.needs_reauth(row, now=now, settings=settings):
                return redirect_with_next(CONFIRM, come_back_to(), raison="modification")
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def confirm_first_message() -> str:
    minutes = settings_of(current_app).support.reauth_minutes
    return CONFIRM_FIRST.format(minutes=f"{minutes:g}")


def is_console_path(path: str) -> bool:
    return path == CONSOLE or path.startswith(f"{CONSOLE}/")
