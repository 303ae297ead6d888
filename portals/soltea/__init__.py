"""SOLTÉA: a thin relying party of the hub. Everything shared is the kit's; this package holds
SOLTÉA's own pages (for now, its home). `gunicorn 'portals.soltea:create_app()'`."""

from __future__ import annotations

from typing import Any

from flask import Flask

from portals.kit import PortalConfig, PortalIdentity, create_portal_app

IDENTITY = PortalIdentity(code="soltea", name="SOLTÉA", demo_base_url="http://127.0.0.1:5001")


def create_app(config: PortalConfig | None = None, **flask_config: Any) -> Flask:
    """Application factory; `config` defaults to the `SOLTEA_*` environment variables."""
    from portals.soltea import views

    return create_portal_app(
        IDENTITY, import_name=__name__, config=config, blueprints=[views.bp], **flask_config
    )
