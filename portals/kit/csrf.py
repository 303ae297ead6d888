"""CSRF protection for every form of the portals: a random token per session, kept server side
and echoed by each form (`csrf_token()` in templates), checked before any state-changing
request. The back-channel logout endpoint is exempt: the hub posts it, with a signed token."""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, request, session

from portals.kit import messages
from portals.kit.pages import render_message

FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

View = TypeVar("View", bound=Callable[..., Any])
security_log = logging.getLogger("portals.security")


def csrf_token() -> str:
    token = session.get(FIELD)
    if token is None:
        token = session[FIELD] = secrets.token_urlsafe(32)
    return token


def exempt(view: View) -> View:
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


def csrf_valid() -> bool:
    expected = session.get(FIELD)
    given = request.form.get(FIELD, "")
    return isinstance(expected, str) and hmac.compare_digest(expected, given)


def check_csrf() -> Any:
    """`before_request`: refuses an unsafe request without the session's token (400)."""
    if request.method in SAFE_METHODS or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "csrf_exempt", False) or csrf_valid():
        return None
    security_log.warning(
        "CSRF token missing or wrong on %s %s from %s",
        request.method,
        request.path,
        request.remote_addr,
    )
    return render_message(messages.CSRF_TITLE, messages.CSRF_FAILED, status=400)
