"""The hub as an OpenID Connect provider, through Authlib's Flask client: endpoints from the
discovery document, code flow with PKCE S256, nonce and state, `client_secret_basic`.

Any failure to reach the hub becomes `HubUnavailable`, which every portal page turns into
« Service d'authentification indisponible » with a retry link — never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

import requests
from authlib.integrations.flask_client import FlaskOAuth2App, OAuth
from flask import Flask, request

from portals.kit.config import PortalConfig
from portals.kit.errors import HubUnavailable, TokenRejected
from portals.kit.extension import kit

SCOPE = "openid profile email accounts admin"

log = logging.getLogger("portals.kit.auth")


def register(app: Flask, config: PortalConfig) -> FlaskOAuth2App:
    """One Authlib registry per app: two portals may live in one process (tests)."""
    oauth = OAuth(app)
    return oauth.register(
        "hub",
        client_id=config.client_id,
        client_secret=config.client_secret,
        server_metadata_url=config.discovery_url,
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "token_endpoint_auth_method": "client_secret_basic",
            "default_timeout": config.hub_timeout,
        },
    )


def hub_metadata() -> dict[str, Any]:
    """The hub's discovery document (fetched once, then kept). Its `issuer` must be exactly the
    configured one (OpenID Connect Discovery 1.0 §4.3), or nothing it says is trusted."""
    hub = kit().hub
    try:
        metadata = hub.load_server_metadata()
    except (requests.RequestException, ValueError) as error:
        hub.server_metadata.pop("_loaded_at", None)
        log.warning("hub discovery failed: %s", error)
        raise HubUnavailable(str(error)) from error
    if metadata.get("issuer") != kit().config.issuer:
        hub.server_metadata.pop("_loaded_at", None)
        log.error(
            "discovery issuer %r differs from the configured %r",
            metadata.get("issuer"),
            kit().config.issuer,
        )
        raise HubUnavailable("issuer mismatch")
    return metadata


def read_userinfo(access_token: str) -> dict[str, Any]:
    """The person's claims, including `accounts` on this portal, read now from the hub."""
    metadata = hub_metadata()
    response = requests.get(
        metadata["userinfo_endpoint"],
        headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"},
        timeout=kit().config.hub_timeout,
    )
    if response.status_code in (401, 403):
        raise TokenRejected(response.headers.get("WWW-Authenticate", str(response.status_code)))
    if response.status_code != 200:
        raise HubUnavailable(f"userinfo answered {response.status_code}")
    claims = response.json()
    if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
        raise HubUnavailable("userinfo answered without a subject")
    return claims


def current_url() -> str:
    """Where to retry from: this page for a GET, the home page after a form."""
    return request.full_path.rstrip("?") if request.method == "GET" else "/"
