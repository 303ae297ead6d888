"""What the kit attaches to a portal's Flask app, reachable from any view as `kit()`."""

from __future__ import annotations

from dataclasses import dataclass

from authlib.integrations.flask_client import FlaskOAuth2App
from flask import current_app
from sqlalchemy.engine import Engine

from portals.kit.auth.keys import HubKeys
from portals.kit.config import PortalConfig

EXTENSION = "portal_kit"


@dataclass(frozen=True)
class Kit:
    config: PortalConfig
    engine: Engine
    hub: FlaskOAuth2App  # Authlib's client of the hub, configured from its discovery document
    keys: HubKeys  # the hub's signing keys, for logout tokens


def kit() -> Kit:
    return current_app.extensions[EXTENSION]
