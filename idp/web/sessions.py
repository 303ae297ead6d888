"""The single sign-on session as the web app sees it: a cookie holding a random key, looked up
once per request (`current_browser_session`). Its name is `hub_sso`, `__Host-hub_sso` over https
(`idp.web.cookies`)."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, Request, Response, current_app, g, redirect, request, url_for
from flask.sessions import NullSession, SessionInterface, SessionMixin

from hub.clock import utcnow
from hub.oidc import sessions
from hub.oidc.models import BrowserSession
from hub.users.models import User
from idp.extensions import db
from idp.web import cookies
from idp.web.settings import settings_of

COOKIE_NAME = "hub_sso"
_UNSET = object()


class WithoutFlaskSession(SessionInterface):
    """Flask's own cookie session is not used: the sign-in session is this module's, the CSRF
    token has its cookie (`idp.web.csrf`). Flask would still build its signing serializer and
    look for its cookie on every request; with this interface `flask.session` is an empty
    session that refuses writes, and no response carries Flask's cookie."""

    def open_session(self, app: Flask, request: Request) -> NullSession:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Nothing to save: the session is always the empty one `open_session` gave."""


def current_browser_session() -> BrowserSession | None:
    """The live session of the person making this request, if any (cached for the request)."""
    cached = g.get("browser_session", _UNSET)
    if cached is _UNSET:
        settings = settings_of(current_app)
        cached = sessions.find_active(
            db.session, cookies.read(COOKIE_NAME), now=utcnow(), lifetimes=settings.oidc
        )
        g.browser_session = cached
    return cached  # type: ignore[return-value]


def sign_in(user: User) -> BrowserSession:
    """Starts a new session for `user` (ending the one this browser had: a session key is never
    carried over a sign-in) and arranges for the response to set its cookie. The caller commits."""
    now = utcnow()
    previous = current_browser_session()
    if previous is not None:
        sessions.end(db.session, previous, now=now)
    settings = settings_of(current_app)
    new = sessions.start(
        db.session,
        user,
        now=now,
        lifetimes=settings.oidc,
        ip_address=request.remote_addr,
        user_agent=request.user_agent.string,
    )
    g.browser_session = new.browser_session
    g.set_session_cookie = new.cookie_value
    return new.browser_session


def signed_in_as(person: User) -> Response | None:
    """None when this browser is signed in as `person`, ready to act; else where it must go
    first, to come back to this page: the sign-in form (nobody signed in, or someone else), or
    « Choisissez votre nouveau mot de passe » after a temporary password (R14)."""
    browser_session = current_browser_session()
    if browser_session is None or browser_session.user_id != person.id:
        return redirect(url_for("auth.login", next=request.path), 303)
    if person.password_must_change:
        return redirect(url_for("passwords.new", next=request.path), 303)
    return None


def forget() -> None:
    """Arranges for the response to delete the session cookie (after logout)."""
    g.browser_session = None
    g.set_session_cookie = ""


def changed() -> bool:
    """Whether this request signed someone in or out (the anonymous CSRF token goes with it)."""
    return g.get("set_session_cookie") is not None


def apply_cookie(response: Response) -> Response:
    """`after_request`: writes what `sign_in` or `forget` decided."""
    value = g.get("set_session_cookie")
    if value is None:
        return response
    if value == "":
        cookies.expire(response, COOKIE_NAME)
        return response
    hours = settings_of(current_app).oidc.session_hours
    max_age = int(timedelta(hours=hours).total_seconds())
    cookies.store(response, COOKIE_NAME, value, max_age=max_age)
    return response
