"""The authorization endpoint (OpenID Connect Core §3.1.2): whether the person gets a code
for the portal, or which error, page or sign-in step comes instead.

Order matters. Until the client and its redirect URI are known to be registered (exactly),
nothing is sent to that URI: a French page says what is wrong (no open redirect). After that,
every protocol error goes back to the portal, with `state` and `iss`. Then the person: no
usable session (none, `prompt=login`, older than `max_age`, or not the person the portal's
`id_token_hint` names) means the sign-in form, shown right here (one round trip less than a
redirect to `/login`) and posted to `/login`, which sends the person back here; `prompt=none`
turns each of those steps into an error for the portal instead. Last, R5 at the door
(`hub.oidc.access.admit`): the person needs a valid account on the client's portal, their own
or as a delegated admin (R9). A refusal (`AccountExpired`, `NoAccount`) is audited by the hub
and answered `access_denied` for `prompt=none`, the hub's page otherwise (R5's sentence, or no
account there); never a code. Once admitted, the person gets the code, and the session notes
the portal for single logout (`hub.oidc.sessions`). Portals are first-party clients: there is
no consent screen, and `prompt=consent` is satisfied as it stands.

Transactions: the endpoint is one unit of work (`idp.oidc.transactions.answered`), committed
once with whatever it answers. The checks only read; a refusal adds its audit event; an
admission writes the code, whose INSERT commits by itself when it is the only write (the
transaction begins at the first write, `hub.transactions.on_connection`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InvalidRequestError,
    UnsupportedResponseTypeError,
)
from authlib.oidc.core.errors import (
    InteractionRequiredError,
    LoginRequiredError,
    RegistrationNotSupportedError,
    RequestNotSupportedError,
    RequestURINotSupportedError,
)
from flask import Response, current_app, redirect
from flask import request as flask_request

from hub.clock import utcnow
from hub.errors import AccountExpired, NotAdmitted
from hub.oidc import sessions
from hub.oidc.access import admit
from idp.auth import forms
from idp.auth.renewal_requests import expired_page
from idp.auth.views import render_login
from idp.extensions import db
from idp.metrics import events
from idp.oidc import hints
from idp.oidc.adapters import RelyingParty, SignedIn
from idp.oidc.server import MAX_STATE_LENGTH, HubRequest, repeated_parameter, server
from idp.oidc.transactions import connection
from idp.web import cookies, messages
from idp.web.characters import holds_control_characters
from idp.web.client_registry import PortalRecord
from idp.web.pages import render_message
from idp.web.sessions import COOKIE_NAME
from idp.web.settings import settings_of

REGISTER_PATH = "/register"  # registration (`prompt=create`)
CHOOSE_PASSWORD_PATH = "/password/new"  # noqa: S105 - R14: after a temporary password
MAX_PARAMETER_LENGTH = MAX_STATE_LENGTH
MAX_PARAMETERS_LENGTH = 8000
MAX_NONCE_LENGTH = 255
UNSUPPORTED = {
    "request": RequestNotSupportedError,
    "request_uri": RequestURINotSupportedError,
    "registration": RegistrationNotSupportedError,
}

Page = tuple[str, int]


@dataclass(frozen=True)
class Target:
    """Whom the endpoint may answer: a registered client, at one of its redirect URIs."""

    client: RelyingParty
    redirect_uri: str

    @property
    def client_id(self) -> str:
        return self.client.get_client_id()

    @property
    def portal(self) -> PortalRecord:
        return self.client.client.portal


def authorize() -> Response | Page:
    request = server.create_oauth2_request(flask_request)
    target = _verified_target(request)
    if not isinstance(target, Target):
        return target
    now = utcnow()
    arrival = _arrival(target, now=now)
    request.user = SignedIn(arrival.state) if arrival else None
    try:
        grant, max_age = _validated_grant(request)
        hinted_sub = _hinted_subject(request, target)
    except OAuth2Error as error:
        return server.authorization_error(request, error, target.redirect_uri)
    prompts = set(request.payload.data.get("prompt", "").split())
    if "create" in prompts:
        return redirect(_register_url(target.client, request), 302)
    if (
        arrival is None
        or grant.prompt == "login"
        or _too_old(arrival.state, max_age, now=now)
        or not _is_hinted_person(arrival, hinted_sub)
    ):
        if "none" in prompts:
            return server.authorization_error(request, LoginRequiredError(), target.redirect_uri)
        return _sign_in_page(request, target)
    if arrival.password_must_change:  # R14: a new password before anything else
        if "none" in prompts:
            error = InteractionRequiredError()
            return server.authorization_error(request, error, target.redirect_uri)
        return redirect(_choose_password_url(request), 302)
    try:
        admit(
            db.session,
            arrival.state.user_id,
            target.portal,
            now=now,
            client=target.client_id,
            facts=arrival.facts,
        )
    except NotAdmitted as refused:  # audited by `admit`, committed with the answer
        events.access_refused("authorize", refused.code)
        if "none" in prompts:
            error = AccessDeniedError(refused.code)
            return server.authorization_error(request, error, target.redirect_uri)
        return _refusal_page(target.client, refused)
    return _issue_code(request, grant, target, arrival, now=now)


def _arrival(target: Target, *, now: datetime) -> sessions.Arrival | None:
    """The person's live session, read with what this endpoint asks next about it for the
    target's client (`hub.oidc.sessions.find_at_door`)."""
    return sessions.find_at_door(
        connection(),
        cookies.read(COOKIE_NAME),
        client_id=target.client.client.id,
        portal_id=target.portal.id,
        now=now,
        lifetimes=settings_of(current_app).oidc,
    )


def _validated_grant(request: HubRequest) -> tuple[Any, int | None]:
    """Authlib's grant after its checks (scope, PKCE, nonce, `prompt=none` without a session)
    and ours; and `max_age`."""
    _check_parameters(request)
    grant = server.get_authorization_grant(request)
    grant.validate_consent_request()
    return grant, _max_age(request)


def _issue_code(
    request: HubRequest, grant: Any, target: Target, arrival: sessions.Arrival, *, now: datetime
) -> Response:
    """The portal noted as signed in by this session (for single logout), and the code: the
    endpoint's last write (`AuthorizationCodeGrant.save_authorization_code`)."""
    sessions.note_sign_in(connection(), arrival, target.client.client, now=now)
    response = grant.create_authorization_response(target.redirect_uri, request.user)
    return server.authorization_response(*response)


def _verified_target(request: HubRequest) -> Target | Page:
    """The client and the redirect URI to answer to, or the page that replaces them."""
    data = request.payload.data
    client_ids = data.getlist("client_id")
    client = server.query_client(client_ids[0]) if len(client_ids) == 1 else None
    if client is None:
        return render_message(messages.INVALID_REQUEST_TITLE, messages.UNKNOWN_CLIENT, status=400)
    redirect_uris = data.getlist("redirect_uri")
    if len(redirect_uris) != 1 or not client.check_redirect_uri(redirect_uris[0]):
        portal = client.client.portal
        return render_message(
            messages.INVALID_REQUEST_TITLE,
            messages.UNKNOWN_REDIRECT_URI.format(portal=portal.name),
            link=(messages.BACK_TO_PORTAL.format(portal=portal.name), portal.base_url),
            status=400,
        )
    return Target(client, redirect_uris[0])


def _check_parameters(request: HubRequest) -> None:
    """Malformed requests that Authlib's grant does not refuse by itself."""
    data = request.payload.data
    repeated = request.payload.repeated()
    if repeated:
        raise InvalidRequestError(repeated_parameter(repeated[0]))
    if any(holds_control_characters(key + value) for key, value in data.items(multi=True)):
        raise InvalidRequestError("A parameter holds control characters.")  # idp.input_guard
    lengths = [len(key) + len(value) for key, value in data.items()]
    if max(lengths, default=0) > MAX_PARAMETER_LENGTH or sum(lengths) > MAX_PARAMETERS_LENGTH:
        raise InvalidRequestError("A parameter is too long.")
    for name, error_class in UNSUPPORTED.items():
        if name in data:
            raise error_class()
    response_type = data.get("response_type")
    if not response_type:
        raise InvalidRequestError("Missing 'response_type'.")
    if response_type != "code":  # Authlib's refusal would quote it, and fail on non-ASCII
        raise UnsupportedResponseTypeError(response_type, "Only response_type=code is supported.")
    if data.get("response_mode", "query") != "query":
        raise InvalidRequestError("Only response_mode=query is supported.")
    if not acceptable_nonce(data.get("nonce", "")):
        raise InvalidRequestError("Invalid 'nonce'.")


def acceptable_nonce(nonce: str) -> bool:
    """A nonce the hub stores and echoes in the ID token: short and printable."""
    return len(nonce) <= MAX_NONCE_LENGTH and nonce.isprintable()


def _hinted_subject(request: HubRequest, target: Target) -> str | None:
    """The person the portal means (`id_token_hint`): the `sub` of an ID token this hub issued
    to this very client, expired or not. Any other token is `invalid_request`."""
    hint = request.payload.data.get("id_token_hint")
    if not hint:
        return None
    claims = hints.verified_claims(hint)
    if claims is None or hints.audience(claims) != target.client.get_client_id():
        raise InvalidRequestError("Invalid 'id_token_hint'.")
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None


def _is_hinted_person(arrival: sessions.Arrival, hinted_sub: str | None) -> bool:
    """Whether the session is the hinted person's (§3.1.2.1: otherwise `login_required` for
    `prompt=none`, and the sign-in form for the others)."""
    return hinted_sub is None or arrival.public_id == hinted_sub


def _max_age(request: HubRequest) -> int | None:
    value = request.payload.data.get("max_age")
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 10:
        raise InvalidRequestError("Invalid 'max_age'.")
    return int(value)


def _too_old(state: sessions.SessionState, max_age: int | None, *, now: datetime) -> bool:
    """OpenID Connect Core §3.1.2.1: a sign-in older than `max_age` seconds must be redone."""
    if max_age is None:
        return False
    return (now - state.auth_time).total_seconds() > max_age


def _return_path(request: HubRequest, *, drop_prompt: str) -> str:
    """This authorization request as a relative URL, without the prompt value already honoured
    (so that coming back from sign-in or registration does not start over)."""
    params = []
    for key, value in request.payload.data.items(multi=True):
        if key == "prompt":
            value = " ".join(p for p in value.split() if p != drop_prompt)
            if not value:
                continue
        params.append((key, value))
    return f"{flask_request.script_root}{flask_request.path}?{urlencode(params)}"


def _sign_in_page(request: HubRequest, target: Target) -> str:
    """The sign-in form for this request's portal, coming back to this request once signed in
    (`prompt=login` honoured: it does not ask again)."""
    next_url = _return_path(request, drop_prompt="login")
    hint = request.payload.data.get("login_hint")
    destination = forms.destination_of_request(next_url, target.client.client, hint)
    return render_login(destination, login=destination.login_hint)


def _choose_password_url(request: HubRequest) -> str:
    next_url = _return_path(request, drop_prompt="login")
    return f"{flask_request.script_root}{CHOOSE_PASSWORD_PATH}?{urlencode({'next': next_url})}"


def _register_url(client: RelyingParty, request: HubRequest) -> str:
    next_url = _return_path(request, drop_prompt="create")
    query = urlencode({"portal": client.client.portal.code, "next": next_url})
    return f"{flask_request.script_root}{REGISTER_PATH}?{query}"


def _refusal_page(client: RelyingParty, refused: NotAdmitted) -> Page:
    """R5: the hub's own page, with a way back to the portal, and never a code."""
    portal = client.client.portal
    link = (messages.BACK_TO_PORTAL.format(portal=portal.name), portal.base_url)
    if isinstance(refused, AccountExpired):
        return expired_page(portal)
    return render_message(messages.NO_ACCOUNT_TITLE, refused.message, link=link, status=403)
