"""OpenID Connect Back-Channel Logout 1.0, the portal's side: the hub POSTs a signed logout
token when a person logs out (of any portal, or at the hub); every portal session of that hub
session (`sid`), or of that person (`sub` alone), ends here at once.

A logout token is accepted only when (§2.6): its signature verifies with the hub's keys, it is
typed `logout+jwt`, `iss` is the issuer, `aud` this client, `iat`/`exp` are current, `events`
holds the back-channel logout event, there is no `nonce` (an ID token must never pass for a
logout token), `sid` or `sub` is present, and its `jti` was not seen before (replay).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from portals.kit.auth.client import hub_metadata
from portals.kit.clock import from_timestamp, utcnow
from portals.kit.csrf import exempt
from portals.kit.errors import HubUnavailable
from portals.kit.extension import kit
from portals.kit.models import seen_logout_tokens
from portals.kit.sessions import store

BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"  # noqa: S105 - a JWT type, not a secret
LEEWAY_SECONDS = 60  # clock skew tolerated between the hub and the portal
DEFAULT_ALGORITHMS = ("RS256", "ES256")
MAX_TOKEN_LENGTH = 16_384
MAX_LIFETIME_SECONDS = 3600  # a logout token lives minutes; its jti is kept until it expires

bp = Blueprint("kit_backchannel", __name__)
security_log = logging.getLogger("portals.security")


class InvalidLogoutToken(Exception):
    """Why a logout token was refused (English, for the log and the 400 answer)."""


def verify_logout_token(
    token: str,
    *,
    issuer: str,
    client_id: str,
    key_set: KeySet,
    algorithms: Collection[str] = DEFAULT_ALGORITHMS,
) -> dict[str, Any]:
    """The claims of a valid logout token; raises `InvalidLogoutToken` otherwise. The replay
    check needs the database: see `remember_jti`. `InvalidKeyIdError` passes through so that
    the caller can fetch the hub's keys again."""
    try:
        decoded = jwt.decode(token, key_set, algorithms=list(algorithms))
    except InvalidKeyIdError:
        raise
    except (JoseError, ValueError) as error:
        raise InvalidLogoutToken(f"not a valid signed JWT: {error}") from error
    if decoded.header.get("typ") != LOGOUT_TOKEN_TYPE:
        raise InvalidLogoutToken(f"typ is {decoded.header.get('typ')!r}, not {LOGOUT_TOKEN_TYPE}")
    claims = decoded.claims
    registry = JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": client_id},
        iat={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
    )
    try:
        registry.validate(claims)
    except JoseError as error:
        raise InvalidLogoutToken(str(error)) from error
    if claims["exp"] - claims["iat"] > MAX_LIFETIME_SECONDS:
        raise InvalidLogoutToken("lifetime longer than an hour")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(BACKCHANNEL_LOGOUT_EVENT), dict):
        raise InvalidLogoutToken("events lacks the back-channel logout event")
    if "nonce" in claims:
        raise InvalidLogoutToken("a logout token must not contain a nonce")
    if not isinstance(claims.get("sid"), str) and not isinstance(claims.get("sub"), str):
        raise InvalidLogoutToken("neither sid nor sub")
    return claims


def remember_jti(engine: Engine, jti: str, *, expires_at: datetime, now: datetime) -> bool:
    """Records a logout token's id until it expires; False when it was already seen."""
    with engine.begin() as connection:
        connection.execute(delete(seen_logout_tokens).where(seen_logout_tokens.c.expires_at < now))
    try:
        with engine.begin() as connection:
            connection.execute(insert(seen_logout_tokens).values(jti=jti, expires_at=expires_at))
    except IntegrityError:
        return False
    return True


def _bad_request(description: str) -> tuple[Response, int]:
    security_log.warning(
        "back-channel logout refused: %s (from %s)", description, request.remote_addr
    )
    response = jsonify(error="invalid_request", error_description=description)
    response.headers["Cache-Control"] = "no-store"
    return response, 400


def _verify(token: str) -> dict[str, Any]:
    config = kit().config
    metadata = hub_metadata()
    algorithms = metadata.get("id_token_signing_alg_values_supported") or DEFAULT_ALGORITHMS
    jwks_uri = metadata["jwks_uri"]
    for refetch in (False, True):
        try:
            return verify_logout_token(
                token,
                issuer=config.issuer,
                client_id=config.client_id,
                key_set=kit().keys.key_set(jwks_uri, refetch=refetch),
                algorithms=[a for a in algorithms if a != "none"],
            )
        except InvalidKeyIdError as error:
            if refetch:
                raise InvalidLogoutToken("signed with a key the hub does not publish") from error
    raise AssertionError("unreachable")


@bp.post("/auth/backchannel-logout")
@exempt
def backchannel_logout() -> tuple[Response, int]:
    token = request.form.get("logout_token", "")
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return _bad_request("logout_token missing")
    try:
        claims = _verify(token)
    except InvalidLogoutToken as error:
        return _bad_request(str(error))
    except HubUnavailable as error:
        security_log.warning("back-channel logout postponed, hub keys unavailable: %s", error)
        response = jsonify(error="temporarily_unavailable", error_description=str(error))
        return response, 503
    now = utcnow()
    engine = kit().engine
    if not remember_jti(engine, claims["jti"], expires_at=from_timestamp(claims["exp"]), now=now):
        return _bad_request("jti already used (replay)")
    sid, sub = claims.get("sid"), claims.get("sub")
    ended = store.end_by_sid(engine, sid) if sid else store.end_by_sub(engine, sub)
    security_log.info(
        "back-channel logout on %s: sid=%s sub=%s, %s session(s) ended",
        kit().config.code,
        sid,
        sub,
        ended,
    )
    response = jsonify(status="ok", ended=ended)
    response.headers["Cache-Control"] = "no-store"
    return response, 200
