"""CSRF protection for the hub's own forms: signed double-submit (OWASP). A random token per
browser lives in its own cookie, signed with the app's secret so that a cookie planted from a
sibling host cannot be forged; every form echoes the token (`csrf_token()` in templates).

A dedicated cookie rather than Flask's session: only requests that show or check a form read
it, instead of every request decoding a signed session cookie.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import Flask, Response, abort, current_app, g, request

from hub.oidc.secrets import new_secret
from idp import settings_of

FIELD = "csrf_token"
COOKIE_NAME = "hub_csrf"
MESSAGE = "Le formulaire a expiré ou ne provient pas de ce site. Veuillez réessayer."
TOKEN_MAX = 100


def _signature(token: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"csrf:{token}".encode(), hashlib.sha256).hexdigest()


def _cookie_token() -> str | None:
    """The browser's token, when its cookie carries a valid signature."""
    token, _, signature = request.cookies.get(COOKIE_NAME, "").partition(".")
    if not token or len(token) > TOKEN_MAX:
        return None
    return token if hmac.compare_digest(signature, _signature(token)) else None


def csrf_token() -> str:
    """This browser's token; a new one (and its cookie) when it has none yet."""
    token = g.get("csrf_token") or _cookie_token()
    if token is None:
        token = g.new_csrf_token = new_secret()
    g.csrf_token = token
    return token


def csrf_valid() -> bool:
    expected = _cookie_token()
    given = request.form.get(FIELD, "")
    return expected is not None and hmac.compare_digest(expected, given)


def verify_csrf() -> None:
    """Aborts with 400 (the error page shows `MESSAGE`) unless the form carries the token."""
    if not csrf_valid():
        abort(400, description=MESSAGE)


def _set_cookie(response: Response) -> Response:
    """`after_request`: stores a token minted by this request, for the browser's session."""
    token = g.get("new_csrf_token")
    if token is not None:
        response.set_cookie(
            COOKIE_NAME,
            f"{token}.{_signature(token)}",
            path="/",
            secure=settings_of(current_app).secure_cookies,
            httponly=True,
            samesite="Lax",
        )
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.after_request(_set_cookie)
