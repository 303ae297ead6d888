"""The hub's sign-in page (R14: one identifiant and one password for every portal) and its home
page. Views only parse, call `hub.oidc.signin` and render; the throttling, the one generic answer
and the audit trail are the domain's.

Statuses: the form shown again after a failure (or with an empty field) answers 200, like any
form with an error (401 would call for a `WWW-Authenticate` challenge that forms do not have); an
attempt refused by throttling answers 429 with `Retry-After`; success redirects with 303.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for

from hub.clock import utcnow
from hub.oidc import signin
from hub.portals.models import PortalLike
from hub.transactions import end_reading, unit_of_work
from idp.auth import forms
from idp.extensions import db
from idp.metrics import events
from idp.web.csrf import verify_csrf
from idp.web.sessions import current_browser_session, sign_in
from idp.web.settings import settings_of
from idp.web.throttle import client_address, retry_after

bp = Blueprint("auth", __name__)

THROTTLED_STATUS = 429
Page = str | Response | tuple[str, int, dict[str, str]]


@bp.route("/login", methods=["GET", "POST"])
def login() -> Page:
    if request.method == "GET":
        destination = forms.destination(db.session, request.args.get(forms.NEXT_FIELD))
        return render_login(destination, login=destination.login_hint)
    verify_csrf()
    form = forms.read_login_form(request.form)
    destination = forms.destination(db.session, form.next)
    if form.errors:
        return render_login(destination, login=form.login, field_errors=form.errors)
    return _attempt(form, destination)


def _attempt(form: forms.LoginForm, destination: forms.Destination) -> Page:
    """Checks the credentials and answers. The reading transaction ends before the slow hash, so
    that the writes start a fresh one (SQLite refuses a write from a snapshot another worker has
    changed since), and every write phase begins with a write, taking SQLite's lock first."""
    settings = settings_of(current_app)
    now, address, portal = utcnow(), client_address(), destination.portal
    until = signin.refused_until(db.session, form.login, ip_address=address, now=now)
    candidate = signin.find_candidate(db.session, form.login) if until is None else None
    end_reading(db.session)
    if until is not None:
        with unit_of_work(db.session):
            signin.refuse(
                db.session,
                login=form.login,
                ip_address=address,
                now=now,
                until=until,
                portal=portal,
            )
        events.sign_in("throttled")
        page = render_login(destination, login=form.login, throttled=True)
        return page, THROTTLED_STATUS, retry_after(until, now=now)
    verdict = signin.verify(
        form.login, form.password, candidate, params=settings.passwords, now=now
    )
    if verdict.user is None:
        with unit_of_work(db.session):
            signin.fail(
                db.session,
                verdict,
                login=form.login,
                candidate=candidate,
                ip_address=address,
                now=now,
                throttling=settings.throttling,
                portal=portal,
            )
        events.sign_in("failure")
        return render_login(destination, login=form.login, failed=True)
    with unit_of_work(db.session):
        user = signin.succeed(
            db.session, verdict, login=form.login, ip_address=address, now=now, portal=portal
        )
        sign_in(user)
    events.sign_in("success")
    if user.password_must_change:  # signed in with a temporary password (R14)
        return redirect(url_for("passwords.new", next=destination.next), 303)
    return redirect(destination.next or url_for("auth.home"), 303)


def render_login(
    destination: forms.Destination,
    *,
    login: str = "",
    field_errors: dict[str, str] | None = None,
    failed: bool = False,
    throttled: bool = False,
) -> str:
    page = sign_in_page(
        destination, login=login, field_errors=field_errors, failed=failed, throttled=throttled
    )
    return render_template("login.html", **page)


def sign_in_page(
    destination: forms.Destination,
    *,
    portal: PortalLike | None = None,
    login: str = "",
    field_errors: dict[str, str] | None = None,
    failed: bool = False,
    throttled: bool = False,
) -> dict[str, Any]:
    """What `login.html` shows: the form (posted to `/login`, back to `destination` once signed
    in) and « Création de compte ». Also the page beneath R5's box
    (`idp.auth.renewal_requests.expired_page`), which names its `portal` even when it has no
    authorization request to come back to."""
    portal = portal or destination.portal
    return {
        "title": f"Connexion à {portal.name}" if portal is not None else "Connexion",
        "portal": portal,
        "next": destination.next,
        "login": forms.shown_login(login),
        "field_errors": field_errors or {},
        "error": forms.WRONG_CREDENTIALS if failed or throttled else None,
        "throttled": forms.TOO_MANY_ATTEMPTS if throttled else None,
        "register_url": _path_with_query(
            "/register", portal=portal.code if portal else None, next=destination.next
        ),
        "fields": forms,
    }


def _path_with_query(path: str, **query: str | None) -> str:
    """A link by path to a page of a later issue (its blueprint may not be registered yet)."""
    kept = {name: value for name, value in query.items() if value}
    return f"{path}?{urlencode(kept)}" if kept else path


@bp.get("/")
def home() -> Page:
    """Who is signed in at the hub; people arriving without a session are sent to sign in."""
    browser_session = current_browser_session()
    if browser_session is None:
        return redirect(url_for("auth.login"))
    if browser_session.user.password_must_change:
        return redirect(url_for("passwords.new"))
    return render_template("home.html", title="Accueil", user=browser_session.user)
