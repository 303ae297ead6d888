"""CSRF protection for the hub's own forms (OWASP); every form echoes the token (`csrf_token()`
in templates). Which token a form needs depends on the browser:

- signed in at the hub: a token bound to its single sign-on session, an HMAC of the session
  key's digest under the app's secret. Only the browser holding that session can know it, so a
  token and cookie planted from a sibling host are no use against a signed-in person (issue 12
  §3), and it changes with every sign-in and dies with the session;
- on the support console's pages (`idp.support.access`), a token bound the same way to the
  operator's console session (`bind_to`), which is not a single sign-on session;
- not signed in (the sign-in page, « Mot de passe oublié », registration): a signed
  double-submit cookie, a random token in its own cookie (`__Host-hub_csrf` over https, which no
  sibling host can set: `idp.web.cookies`). It is dropped whenever a request signs someone in or
  out, so that a token from before a sign-in never outlives it.

A dedicated cookie rather than Flask's session: only requests that show or check a form read
it, instead of every request decoding a signed session cookie.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, abort, current_app, g, request

from hub.oidc.models import BrowserSession
from hub.oidc.secrets import new_secret
from idp.web import cookies, sessions

FIELD = "csrf_token"
COOKIE_NAME = "hub_csrf"
MESSAGE = "Le formulaire a expiré ou ne provient pas de ce site. Veuillez réessayer."
TOKEN_MAX = 100


def _signature(purpose: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"csrf:{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def _session_token(browser_session: BrowserSession) -> str:
    return _signature("session", browser_session.key_hash)


def _cookie_token() -> str | None:
    """The anonymous browser's token, when its cookie carries a valid signature and was not
    dropped by a sign-in or sign-out in this very request."""
    if sessions.changed():
        return None
    token, _, signature = (cookies.read(COOKIE_NAME) or "").partition(".")
    if not token or len(token) > TOKEN_MAX:
        return None
    return token if hmac.compare_digest(signature, _signature("cookie", token)) else None


def csrf_token() -> str:
    """The token this browser's forms carry; for a browser without a session and without a
    token yet, a new one (and its cookie)."""
    token = _expected()
    if token is None:
        token = g.new_csrf_token = new_secret()
    return token


def bind_to(purpose: str, key_hash: str) -> None:
    """For the rest of this request, forms carry a token bound to another session of this
    browser than its single sign-on one — `purpose` names which (the support console's) — an
    HMAC of that session key's digest, like `_session_token`."""
    g.csrf_bound_token = _signature(purpose, key_hash)


def _expected() -> str | None:
    """The token this browser's forms must carry: the one a page bound (`bind_to`), else its
    session's, else its cookie's (or the one this request minted)."""
    bound = g.get("csrf_bound_token")
    if bound is not None:
        return bound
    browser_session = sessions.current_browser_session()
    if browser_session is not None:
        return _session_token(browser_session)
    return g.get("new_csrf_token") or _cookie_token()


def csrf_valid() -> bool:
    expected = _expected()
    given = request.form.get(FIELD, "")
    return expected is not None and hmac.compare_digest(expected, given)


def verify_csrf() -> None:
    """Aborts with 400 (the error page shows `MESSAGE`) unless the form carries the token."""
    if not csrf_valid():
        abort(400, description=MESSAGE)


def _set_cookie(response: Response) -> Response:
    """`after_request`: stores a token minted by this request, or drops the one a sign-in or
    sign-out made stale."""
    token = g.get("new_csrf_token")
    if token is not None:
        cookies.store(response, COOKIE_NAME, f"{token}.{_signature('cookie', token)}")
    elif sessions.changed() and cookies.read(COOKIE_NAME) is not None:
        cookies.expire(response, COOKIE_NAME)
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.after_request(_set_cookie)
