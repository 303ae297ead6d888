"""« Connexion », signing in through the hub (`/auth/login`, `/auth/create-account`,
`/auth/callback`) and « Se déconnecter » (`/auth/logout`, RP-initiated logout at the hub, which
then logs the person out of every other portal over the back channel).

« Me connecter » first asks the hub silently (`prompt=none`): a person with a live hub session is
signed in without seeing the hub at all (single sign-on), and a refusal comes back to the portal
as an error — so R5's expired account gets the portal's own message box (the seed's
screenshot). Only when the hub needs the person (no session: `login_required`) does the
interactive sign-in start.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.integrations.base_client import OAuthError
from flask import Blueprint, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError
from werkzeug.wrappers import Response

from portals.kit import messages
from portals.kit.auth import signins
from portals.kit.auth.client import current_url, hub_metadata, read_userinfo
from portals.kit.auth.freshness import access_expiry, check_accounts
from portals.kit.clock import utcnow
from portals.kit.errors import HubUnavailable, TokenRejected
from portals.kit.extension import kit
from portals.kit.pages import render_message
from portals.kit.sessions.store import SignIn

bp = Blueprint("kit_auth", __name__)

NEXT_MAX = 4096
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")  # Unicode spaces, category Cc

log = logging.getLogger("portals.kit.auth")
security_log = logging.getLogger("portals.security")


def render_connexion() -> tuple[str, int]:
    """The « Connexion » page, with the notice left by a redirect (R5's expired message box,
    « Vous êtes déconnecté. »…). The notice is shown once: « Fermer » reloads without it."""
    notice = session.pop("notice", None)
    if request.args.get("state") and _logout_state_matches():
        notice = "signed_out"
    return render_template(
        "kit/connexion.html",
        notice=notice,
        notice_text=messages.NOTICES.get(notice or ""),
    ), 200


def _logout_state_matches() -> bool:
    try:
        kit().hub.validate_logout_response()
    except OAuthError:
        return False
    return True


@bp.get("/connexion")
def connexion() -> Any:
    if signins.current_sign_in() is not None:
        return redirect("/")
    return render_connexion()


INTERACTION_NEEDED = {
    "login_required",
    "interaction_required",
    "consent_required",
    "account_selection_required",
}


@bp.get("/auth/login")
def login() -> Response:
    """Silent first, unless `interactive=1` (the silent attempt said the hub needs the person)."""
    return _start_sign_in(prompt=None if request.args.get("interactive") else "none")


@bp.get("/auth/create-account")
def create_account() -> Response:
    """« Créer un compte »: the hub's registration (Initiating User Registration via OpenID
    Connect, `prompt=create`), which ends signed in like any sign-in."""
    return _start_sign_in(prompt="create")


def _start_sign_in(*, prompt: str | None) -> Response:
    next_url = safe_next(request.args.get("next"))
    if signins.current_sign_in() is not None and prompt != "create":
        return redirect(next_url)
    hub_metadata()  # before any state is stored: a hub that is down gets its own page
    session["next"] = next_url
    extra = {"prompt": prompt} if prompt else {}
    try:
        return kit().hub.authorize_redirect(kit().config.redirect_uri, **extra)
    except (requests.RequestException, ValueError) as error:
        raise HubUnavailable(str(error)) from error


def safe_next(value: str | None) -> str:
    """Only a path of this portal: never an open redirect, whatever a browser makes of it.

    Refused: anything not starting with one `/`, `//host` and any backslash (`/\\host` is
    another host to browsers), an explicit scheme or host, and whitespace or control characters
    — the hub's own check (`idp.auth.forms`), copied since portals do not import the hub.
    Browsers strip tabs and line breaks (`/\\t/host` would become `//host`); this check does
    not count on `urlsplit` doing the same."""
    if not value or len(value) > NEXT_MAX or not value.startswith("/"):
        return "/"
    if value.startswith("//") or "\\" in value or _SPACE_OR_CONTROL.search(value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


@bp.get("/auth/callback")
def callback() -> Any:
    """The hub's answer to our authorization request. Its `state` must be one we issued for
    this browser, and its `iss` the configured issuer (RFC 9207: a response from another
    provider the browser talks to is refused), before anything else is considered."""
    hub = kit().hub
    state = request.args.get("state", "")
    state_data = hub.framework.get_state_data(session, state) if state else None
    if state_data is None:
        security_log.warning("callback with an unknown state from %s", request.remote_addr)
        return _failed()
    retry = url_for("kit_auth.login", next=session.get("next", "/"))
    try:
        metadata = hub_metadata()
    except HubUnavailable as error:
        error.retry_url = retry
        raise
    if not _issuer_matches(metadata):
        hub.framework.clear_state_data(session, state)
        return _failed()
    error = request.args.get("error")
    if error:
        hub.framework.clear_state_data(session, state)
        if error in INTERACTION_NEEDED and _was_silent(state_data):
            return redirect(url_for("kit_auth.login", next=session.get("next", "/"), interactive=1))
        return _refused(error, request.args.get("error_description"))
    try:
        token = hub.authorize_access_token()
        claims = read_userinfo(token["access_token"])
    except (requests.RequestException, HubUnavailable) as failure:
        raise HubUnavailable(str(failure), retry_url=retry) from failure
    except OAuthError as failure:
        if failure.error == "invalid_grant" and failure.description == messages.ACCOUNT_EXPIRED:
            # R5 at the code exchange: the account expired between the hub's door and now.
            return _refused("access_denied", "account_expired")
        security_log.warning("sign-in failed at the token step: %r", failure)
        return _failed()
    except (JoseError, TokenRejected, KeyError, ValueError) as failure:
        security_log.warning("sign-in failed at the token step: %r", failure)
        return _failed()
    id_claims = token.get("userinfo")
    if not id_claims or claims["sub"] != id_claims["sub"]:
        security_log.warning("sign-in without a verified ID token, or userinfo for another sub")
        return _failed()
    now = utcnow()
    sign_in = SignIn(
        sid=id_claims.get("sid"),
        sub=id_claims["sub"],
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token"),
        id_token=token["id_token"],
        access_expires_at=access_expiry(token, now=now),
        claims=claims,
        claims_read_at=now,
    )
    next_url = safe_next(session.get("next"))
    signins.begin(sign_in)
    return check_accounts(sign_in) or redirect(next_url)


def _was_silent(state_data: dict[str, Any]) -> bool:
    """Whether our request carried `prompt=none` (Authlib keeps the URL it redirected to)."""
    query = parse_qs(urlsplit(state_data.get("url", "")).query)
    return query.get("prompt") == ["none"]


def _issuer_matches(metadata: dict[str, Any]) -> bool:
    issuer = request.args.get("iss")
    if issuer is None and not metadata.get("authorization_response_iss_parameter_supported"):
        return True
    if issuer != kit().config.issuer:
        security_log.warning("callback with iss=%r, expected %r", issuer, kit().config.issuer)
        return False
    return True


def _refused(error: str, description: str | None) -> Any:
    """The hub's refusal: R5's expired account gets the message box on « Connexion »."""
    log.info("sign-in refused by the hub: %s (%s)", error, description)
    if error == "access_denied" and description in ("account_expired", "no_account"):
        session["notice"] = description
        return redirect(url_for("kit_auth.connexion"))
    if error == "access_denied":
        session["notice"] = "sign_in_cancelled"
        return redirect(url_for("kit_auth.connexion"))
    return render_message(
        messages.SIGN_IN_FAILED_TITLE,
        messages.SIGN_IN_REFUSED,
        link=("Retour à la connexion", url_for("kit_auth.connexion")),
        status=400,
    )


def _failed() -> tuple[str, int]:
    return render_message(
        messages.SIGN_IN_FAILED_TITLE,
        messages.SIGN_IN_FAILED,
        link=("Retour à la connexion", url_for("kit_auth.connexion")),
        status=400,
    )


@bp.post("/auth/logout")
def logout() -> Response:
    """« Se déconnecter »: the portal session ends here, then the hub ends the single sign-on
    session (RP-Initiated Logout 1.0) and tells the other portals. The hub is asked first: when
    it is down the person stays signed in here and may try again, rather than believing they
    left every portal."""
    if signins.current_sign_in() is None:
        return redirect("/")
    hub_metadata()
    ended = signins.end(reason="logout")
    assert ended is not None
    try:
        return kit().hub.logout_redirect(
            post_logout_redirect_uri=kit().config.post_logout_redirect_uri,
            id_token_hint=ended.id_token,
            client_id=kit().config.client_id,
        )
    except RuntimeError as error:  # no end_session_endpoint: the hub cannot log out
        raise HubUnavailable(str(error), retry_url=current_url()) from error
