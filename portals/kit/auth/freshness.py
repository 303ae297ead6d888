"""Keeping a sign-in true to the hub (DESIGN.md §3): before each request, claims older than
`claims_max_age` seconds, or an access token about to expire, are renewed with the refresh
token and re-read from the userinfo endpoint. An account that expires, is demoted or loses
`data_exchange` mid-session therefore stops working within a minute, and when the hub refuses
the refresh (account expired, session ended at the hub) the portal session ends with it — with
R5's message when the hub says the account expired.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import requests
from authlib.integrations.base_client import OAuthError
from flask import redirect, request, url_for
from werkzeug.wrappers import Response

from portals.kit.auth import signins
from portals.kit.auth.access import Person
from portals.kit.auth.client import hub_metadata, read_userinfo
from portals.kit.clock import from_timestamp, utcnow
from portals.kit.errors import HubUnavailable, TokenRejected
from portals.kit.extension import kit
from portals.kit.sessions import store
from portals.kit.sessions.store import SignIn

log = logging.getLogger("portals.kit.auth")

REFRESH_LEASE = timedelta(seconds=30)  # longer than a token call plus a userinfo call
ACCESS_TOKEN_MARGIN = timedelta(seconds=10)  # refresh before the hub would refuse the token
WAIT_STEP_SECONDS = 0.1
WAIT_STEPS = 50  # how long a request waits for another one's refresh: 5 s at most
UNAVAILABLE_ERRORS = {"server_error", "temporarily_unavailable", "invalid_client"}
EXEMPT_BLUEPRINTS = {"kit_auth", "kit_backchannel", "kit_health", "kit"}


class SignInRefused(Exception):
    """The hub will not extend this sign-in; `notice` is what « Connexion » will say."""

    def __init__(self, reason: str, *, notice: str = "session_ended") -> None:
        super().__init__(reason)
        self.notice = notice


def is_stale(sign_in: SignIn, *, now: datetime, max_age: int) -> bool:
    return (
        now - sign_in.claims_read_at >= timedelta(seconds=max_age)
        or sign_in.access_expires_at <= now + ACCESS_TOKEN_MARGIN
    )


def keep_fresh() -> Response | None:
    """`before_request`: refreshes a stale sign-in; a response when the request must stop."""
    if request.blueprint in EXEMPT_BLUEPRINTS or request.endpoint in (None, "static"):
        return None
    sign_in = signins.current_sign_in()
    if sign_in is None:
        return None
    if not is_stale(sign_in, now=utcnow(), max_age=kit().config.claims_max_age):
        return None
    return refresh()


def refresh() -> Response | None:
    """Renews this browser's sign-in now, one request at a time."""
    current = signins.portal_session()
    hashed, sign_in = current.key_hash, current.sign_in
    assert hashed is not None
    assert sign_in is not None
    engine = kit().engine
    if not store.claim_refresh(engine, hashed, now=utcnow(), lease=REFRESH_LEASE):
        return _wait_for_other_refresh(hashed, sign_in)
    try:
        renewed = exchange(sign_in)
    except SignInRefused as refusal:
        log.info("refresh refused for sub=%s: %s", sign_in.sub, refusal)
        return end_and_redirect(refusal.notice, reason=f"refresh refused: {refusal}")
    except BaseException:
        store.release_refresh(engine, hashed)
        raise
    if not store.store_refresh(engine, hashed, renewed):
        return end_and_redirect("session_ended", reason="ended while refreshing")
    current.sign_in = renewed
    return check_accounts(renewed)


def exchange(sign_in: SignIn) -> SignIn:
    """A refresh_token grant, then the claims read with the new access token."""
    now = utcnow()
    if sign_in.refresh_token is None:
        if sign_in.access_expires_at <= now:
            raise SignInRefused("access token expired and no refresh token")
        return replace(
            sign_in, claims=_claims(sign_in.access_token, sign_in.sub), claims_read_at=now
        )
    hub_metadata()
    try:
        token = kit().hub.fetch_access_token(
            grant_type="refresh_token", refresh_token=sign_in.refresh_token
        )
    except OAuthError as error:
        if error.error in UNAVAILABLE_ERRORS:
            log.error("token endpoint refused the refresh: %s %s", error.error, error.description)
            raise HubUnavailable(str(error)) from error
        raise SignInRefused(
            f"{error.error}: {error.description}", notice=refusal_notice(error)
        ) from error
    except (requests.RequestException, ValueError) as error:
        raise HubUnavailable(str(error)) from error
    return SignIn(
        sid=sign_in.sid,
        sub=sign_in.sub,
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token") or sign_in.refresh_token,
        id_token=sign_in.id_token,  # the one from sign-in: what the hub issued with the sid
        access_expires_at=access_expiry(token, now=now),
        claims=_claims(token["access_token"], sign_in.sub),
        claims_read_at=now,
    )


def refusal_notice(error: OAuthError) -> str:
    """What « Connexion » says after the hub refused a refresh: R5's message when the account
    expired, « no account » when it was deleted, otherwise that the session ended."""
    for reason in ("account_expired", "no_account"):
        if reason in (error.error, error.description):
            return reason
    return "session_ended"


def access_expiry(token: dict[str, Any], *, now: datetime) -> datetime:
    """Authlib computes `expires_at` from `expires_in`; without either, trust it for a minute."""
    if token.get("expires_at"):
        return from_timestamp(float(token["expires_at"]))
    return now + timedelta(seconds=60)


def _claims(access_token: str, sub: str) -> dict[str, Any]:
    try:
        claims = read_userinfo(access_token)
    except TokenRejected as error:
        raise SignInRefused(f"userinfo refused the access token: {error}") from error
    if claims["sub"] != sub:
        raise SignInRefused("userinfo names another person")
    return claims


def check_accounts(sign_in: SignIn) -> Response | None:
    """R5 between two sign-ins: claims saying every account here expired end the session with
    the expired message, even before the hub refuses a refresh."""
    if Person.from_claims(sign_in.claims).only_expired_accounts:
        return end_and_redirect("account_expired", reason="every account expired")
    return None


def end_and_redirect(notice: str, *, reason: str) -> Response:
    signins.end(notice=notice, reason=reason)
    return redirect(url_for("kit_auth.connexion"))


def _wait_for_other_refresh(hashed: str, sign_in: SignIn) -> Response | None:
    """Another request of this browser is refreshing: use its result, or, while our access
    token still works, the claims we have (they are at most a few seconds older)."""
    current = signins.portal_session()
    for _ in range(WAIT_STEPS):
        stored, refreshing_until = store.current_sign_in(kit().engine, hashed)
        if stored is None:
            return end_and_redirect("session_ended", reason="ended by a concurrent request")
        if refreshing_until is None or refreshing_until < utcnow():
            if stored.claims_read_at > sign_in.claims_read_at:
                current.sign_in = stored
                return check_accounts(stored)
            break
        time.sleep(WAIT_STEP_SECONDS)
    if sign_in.access_expires_at > utcnow():
        return None
    raise HubUnavailable("another request is still refreshing the sign-in")
