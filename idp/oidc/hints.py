"""`id_token_hint`: an ID token a portal hands back to the hub to say whom it means, at the
authorization endpoint (OpenID Connect Core §3.1.2.1) and at logout (RP-Initiated Logout §2).
It may have expired; it must be an ID token this hub signed, with a key it still publishes."""

from __future__ import annotations

from typing import Any

from flask import current_app

from hub.oidc.logout import BACKCHANNEL_LOGOUT_EVENT
from idp.extensions import db
from idp.oidc.signing import InvalidJwt, key_ring
from idp.web.settings import settings_of

MAX_HINT_LENGTH = 8000


def verified_claims(token: str) -> dict[str, Any] | None:
    """The claims of an ID token this hub issued, expired or not; None for anything else (a
    foreign or tampered token, or a logout token, which the hub signs too)."""
    if len(token) > MAX_HINT_LENGTH:
        return None
    try:
        claims = key_ring.verify(db.session, token)
    except InvalidJwt:
        return None
    issuer = settings_of(current_app).public_url
    if claims.get("iss") != issuer or BACKCHANNEL_LOGOUT_EVENT in (claims.get("events") or {}):
        return None
    return claims


def audience(claims: dict[str, Any]) -> str | None:
    """The client an ID token was issued to (`azp` when there are several audiences)."""
    aud = claims.get("aud")
    if isinstance(aud, str):
        return aud
    if isinstance(aud, list) and len(aud) == 1:
        return aud[0]
    return claims.get("azp")
