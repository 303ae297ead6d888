"""The OpenID Connect provider's HTTP endpoints: discovery, JWKS, authorization, token,
UserInfo, revocation and introspection. Views are thin: Authlib's server (`idp.oidc.server`)
and the hub's services do the work; each request is one transaction. What they receive has
passed `idp.input_guard` (no control characters, an oversized body answered 413 in JSON). A
portal's plain authorization and token requests are answered before Flask, by
`idp.oidc.fast_path`; these views answer every other one.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from authlib.common.security import is_secure_transport
from authlib.oauth2.rfc6749 import InvalidRequestError
from flask import Blueprint, Response, current_app, request
from flask.blueprints import BlueprintSetupState

from idp.extensions import db
from idp.metrics import events
from idp.oidc import userinfo as userinfo_endpoint
from idp.oidc.authorization import authorize as authorize_request
from idp.oidc.discovery import provider_metadata
from idp.oidc.introspection import Introspection
from idp.oidc.revocation import Revocation
from idp.oidc.server import repeated_parameter, server
from idp.oidc.signing import key_ring
from idp.oidc.transactions import answered
from idp.web.settings import settings_of

bp = Blueprint("oidc", __name__)
log = logging.getLogger(__name__)

OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE"]


@bp.record_once
def _check_issuer(state: BlueprintSetupState) -> None:
    """OAuth 2.0 requires TLS: Authlib refuses every protocol request when the issuer is plain
    http on anything but the loopback interface. Say so once, at start-up, not per request."""
    issuer = settings_of(state.app).public_url
    if not is_secure_transport(issuer):
        log.error("HUB_PUBLIC_URL %s is not https: OpenID Connect requests will fail", issuer)


def _json(body: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")),
        status=status,
        mimetype="application/json",
        headers=headers,
    )


def _public(response: Response, *, max_age: int) -> Response:
    """Metadata and keys: public, cacheable briefly (keys rotate), readable from any origin."""
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _post_only() -> Response:
    return _json(
        {"error": "invalid_request", "error_description": "Use POST."},
        status=405,
        headers={"Allow": "POST", "Cache-Control": "no-store"},
    )


@bp.get("/.well-known/openid-configuration")
@bp.get("/.well-known/oauth-authorization-server")
def openid_configuration() -> Response:
    metadata = provider_metadata(settings_of(current_app).public_url)
    return _public(_json(metadata), max_age=300)


@bp.get("/jwks.json")
def jwks() -> Response:
    return _public(_json(key_ring.jwks(db.session)), max_age=60)


@bp.route("/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    return answered(authorize_request)


@bp.post("/token")
def token() -> Response:
    response = answered(server.create_token_response)
    if response.status_code == 200:  # committed: the tokens exist
        events.tokens_issued(request.form.get("grant_type", ""))
    return response


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> Response:
    return userinfo_endpoint.respond()


@bp.post("/oauth/revoke")
def revoke() -> Response:
    return _endpoint(Revocation.ENDPOINT_NAME)


@bp.post("/oauth/introspect")
def introspect() -> Response:
    return _endpoint(Introspection.ENDPOINT_NAME)


def _endpoint(name: str) -> Response:
    oauth_request = server.create_oauth2_request(request)
    repeated = oauth_request.payload.repeated()
    if repeated:
        error = InvalidRequestError(repeated_parameter(repeated[0]))
        return server.handle_error_response(oauth_request, error)
    return answered(lambda: server.create_endpoint_response(name, oauth_request))


for _rule, _name in (
    ("/token", "token"),
    ("/oauth/revoke", "revoke"),
    ("/oauth/introspect", "introspect"),
):
    bp.add_url_rule(_rule, f"{_name}_post_only", _post_only, methods=OTHER_METHODS)
