"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the end-session endpoint.

A portal sends the person here with the ID token it holds (`id_token_hint`). When that token
names the browser's current session, the person is logged out at once; otherwise (no hint, or
a hint about an older session) they are asked first, with a CSRF-protected form, so that no
third-party page can log anyone out with a mere link. Logging out ends the hub session, revokes
its tokens and queues a back-channel logout for every portal it signed in to, in one
transaction; once it is committed, the logout tokens are posted to the portals in parallel
(`idp.oidc.backchannel.deliver_now`), and only then does the person get the page or the
redirect: single logout is done when the page says so. A portal that does not answer within
`Settings.logout_wait_seconds` (2 s) does not hold the page longer; it is told by the sender's
retries. The person then goes back to the portal only through a `post_logout_redirect_uri`
registered for it, never elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, current_app, redirect, render_template, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from hub.clock import utcnow
from hub.database import make_session_factory
from hub.oidc import logout
from hub.oidc.clients import find_client
from hub.oidc.models import BrowserSession, OidcClient
from hub.transactions import unit_of_work
from idp.extensions import db
from idp.oidc import hints
from idp.oidc.backchannel import deliver_now, sign_logout_token
from idp.web.csrf import verify_csrf
from idp.web.pages import render_message
from idp.web.sessions import current_browser_session, forget
from idp.web.settings import settings_of

bp = Blueprint("oidc_logout", __name__)

TITLE = "Déconnexion"
LOGGED_OUT = "Vous êtes déconnecté."
REFUSED_TITLE = "Déconnexion impossible"
FOREIGN_HINT = (
    "La demande de déconnexion n'est pas valide : le jeton d'identité qui l'accompagne n'a pas "
    "été émis par ce hub."
)
CLIENT_MISMATCH = (
    "La demande de déconnexion n'est pas valide : le portail indiqué ne correspond pas au jeton "
    "d'identité qui l'accompagne."
)
BACK_TO_PORTAL = "Retourner sur {portal}"


class InvalidLogoutRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class LogoutRequest:
    """What a logout request asks, once checked."""

    hint_sid: str | None  # the `sid` of a valid id_token_hint
    client: OidcClient | None  # named by the hint's audience or `client_id`
    redirect_uri: str | None  # only a post_logout_redirect_uri registered for `client`
    state: str | None


def _verified_hint(token: str) -> dict[str, Any]:
    claims = hints.verified_claims(token)
    if claims is None:
        raise InvalidLogoutRequest(FOREIGN_HINT)
    return claims


def parse_request(params: MultiDict[str, str]) -> LogoutRequest:
    """Checks the parameters (§2); `ui_locales` and `logout_hint` are accepted and ignored."""
    hint = params.get("id_token_hint") or None
    claims = _verified_hint(hint) if hint else {}
    client_id = params.get("client_id") or None
    hinted = hints.audience(claims) if claims else None
    if client_id and hinted and client_id != hinted:
        raise InvalidLogoutRequest(CLIENT_MISMATCH)
    named = client_id or hinted
    client = find_client(db.session, named) if named else None
    uri = params.get("post_logout_redirect_uri") or None
    registered = client is not None and uri in client.post_logout_redirect_uris
    sid = claims.get("sid")
    return LogoutRequest(
        hint_sid=sid if isinstance(sid, str) else None,
        client=client,
        redirect_uri=uri if registered else None,
        state=params.get("state") or None,
    )


def _with_state(uri: str, state: str | None) -> str:
    """The registered URI with `state` added to whatever query it already has (§3)."""
    if state is None:
        return uri
    parts = urlsplit(uri)
    query = "&".join(filter(None, [parts.query, urlencode({"state": state})]))
    return urlunsplit(parts._replace(query=query))


def _log_out(browser_session: BrowserSession) -> None:
    """Ends the session and queues the portals' back-channel logouts, in one transaction;
    then tells the portals, waiting for them a short while at most."""
    settings = settings_of(current_app)
    with unit_of_work(db.session):
        deliveries = logout.log_out(
            db.session,
            browser_session,
            now=utcnow(),
            issuer=settings.public_url,
            sign=lambda client, claims: sign_logout_token(db.session, client, claims),
        )
    forget()
    deliver_now(
        make_session_factory(db.engine),  # the posting threads' own sessions, not the request's
        [delivery.id for delivery in deliveries],
        wait_seconds=settings.logout_wait_seconds,
    )


def _no_store(response: Any) -> Response:
    response = current_app.make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def _finish(logout_request: LogoutRequest) -> Response:
    """Back to the portal through its registered URI, or the hub's own « déconnecté » page."""
    if logout_request.redirect_uri is not None:
        code = 303 if request.method == "POST" else 302
        return _no_store(
            redirect(_with_state(logout_request.redirect_uri, logout_request.state), code)
        )
    client = logout_request.client
    link = (
        (BACK_TO_PORTAL.format(portal=client.portal.name), client.portal.base_url)
        if client
        else None
    )
    return _no_store(render_message(TITLE, LOGGED_OUT, link=link))


@bp.route("/logout", methods=["GET", "POST"], endpoint="end_session")
def end_session() -> Response:
    """A confirmed form (CSRF-checked), or a hint naming the current session, logs out; a
    browser without a session just goes back; anything else asks first."""
    params = request.form if request.method == "POST" else request.args
    try:
        logout_request = parse_request(params)
    except InvalidLogoutRequest as error:
        return _no_store(render_message(REFUSED_TITLE, error.message, status=400))
    current = current_browser_session()
    if request.method == "POST" and params.get("confirm"):
        verify_csrf()
    elif current is not None and logout_request.hint_sid != current.sid:
        return _no_store(render_template("logout_confirm.html", logout=logout_request))
    if current is not None:
        _log_out(current)
    return _finish(logout_request)
