"""CSRF protection for the hub's own forms: a random token per browser, kept in the signed
Flask session cookie and echoed by every form (`csrf_token()` in templates)."""

from __future__ import annotations

import hmac

from flask import abort, request, session

from hub.oidc.secrets import new_secret

FIELD = "csrf_token"
MESSAGE = "Le formulaire a expiré ou ne provient pas de ce site. Veuillez réessayer."


def csrf_token() -> str:
    token = session.get(FIELD)
    if token is None:
        token = session[FIELD] = new_secret()
    return token


def csrf_valid() -> bool:
    expected = session.get(FIELD)
    given = request.form.get(FIELD, "")
    return expected is not None and hmac.compare_digest(expected, given)


def verify_csrf() -> None:
    """Aborts with 400 (the error page shows `MESSAGE`) unless the form carries the token."""
    if not csrf_valid():
        abort(400, description=MESSAGE)
