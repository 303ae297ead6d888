"""Bearer-token authentication for the API (RFC 6750): the token the hub issued to a portal for
the signed-in person, checked on every call (revocation and expiry take effect at once).

A blueprint whose every view needs one scope is protected once (`protect`, a `before_request`);
one whose views need different scopes names it on each view (`requires_scope`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from hub.audit.services import (
    audit_context,
    current_audit_context,
    enter_audit_context,
    leave_audit_context,
)
from hub.clock import utcnow
from hub.oidc import tokens
from hub.oidc.models import OAuthToken
from hub.portals.models import Portal
from hub.users.models import User
from idp.extensions import db


@dataclass(frozen=True)
class Caller:
    """Who calls: the person, through which portal's client, with which scopes."""

    user: User
    token: OAuthToken

    @property
    def portal(self) -> Portal:
        """The portal calling: the one whose client the token was issued to."""
        return self.token.client.portal

    @property
    def portal_code(self) -> str:
        return self.portal.code


def _challenge(error: str, description: str, status: int) -> Response:
    response = jsonify(error=error, error_description=description, message=description)
    response.status_code = status
    response.headers["WWW-Authenticate"] = f'Bearer error="{error}"'
    return response


def _bearer() -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value or len(value) > 200:
        return None
    return value.strip()


def _live_token(raw: str) -> OAuthToken | None:
    token = tokens.find_by_access_token(db.session, raw)
    return token if token and tokens.access_token_is_active(token, now=utcnow()) else None


def current_caller() -> Caller:
    return g.api_caller


def _authenticate(scope: str) -> Response | None:
    """None once the caller is known (`current_caller`), else the answer refusing the call:
    401 without a live access token, 403 without `scope` (JSON, `WWW-Authenticate`)."""
    raw = _bearer()
    if raw is None:
        return _challenge("invalid_token", "Jeton d'accès manquant.", 401)
    token = _live_token(raw)
    if token is None:
        return _challenge("invalid_token", "Jeton d'accès invalide ou expiré.", 401)
    if scope not in token.scope.split():
        return _challenge("insufficient_scope", f"Portée « {scope} » requise.", 403)
    g.api_caller = Caller(user=token.user, token=token)
    return None


def requires_scope(scope: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuses calls without a live access token carrying `scope` (401 / 403, JSON); the view
    runs with the caller known and the audit context naming the request and the portal."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            refused = _authenticate(scope)
            if refused is not None:
                return refused
            request_id = current_audit_context().request_id
            with audit_context(request_id=request_id, via_portal=current_caller().portal_code):
                return view(*args, **kwargs)

        return wrapper

    return decorator


def protect(bp: Blueprint, *, scope: str) -> None:
    """`requires_scope(scope)` for every view of `bp`, checked once per call before any of the
    blueprint's other `before_request` functions (register those after this)."""

    @bp.before_request
    def authenticate() -> Response | None:
        if request.method == "OPTIONS":  # Flask's own answer, which runs no view: as before
            return current_app.make_default_options_response()
        refused = _authenticate(scope)
        if refused is not None:
            return refused
        request_id = current_audit_context().request_id
        portal_code = current_caller().portal_code
        g.api_audit_token = enter_audit_context(request_id=request_id, via_portal=portal_code)
        return None

    @bp.teardown_request
    def leave(_error: BaseException | None) -> None:
        token = g.pop("api_audit_token", None)
        if token is not None:
            leave_audit_context(token)
