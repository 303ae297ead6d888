"""The relying-party kit every portal is built from (DESIGN.md §3): OIDC sign-in through the
hub, server-side sessions ended by back-channel logout, freshness of the hub's claims (expiry,
role and rights reach the portal within a minute), access decorators, the hub API client, the
French layout and the pages every portal shares (« Connexion », « Mes informations »,
« Mes portails », and for administrators « Administration »), CSRF and security headers.

A portal is `create_portal_app(PortalIdentity(...), import_name=__name__, blueprints=[...])`.
"""

from __future__ import annotations

from portals.kit.app import create_portal_app
from portals.kit.auth.access import (
    Person,
    PortalAccount,
    admin_required,
    current_person,
    login_required,
    right_required,
)
from portals.kit.auth.views import render_connexion
from portals.kit.config import PortalConfig, PortalIdentity

__all__ = [
    "Person",
    "PortalAccount",
    "PortalConfig",
    "PortalIdentity",
    "admin_required",
    "create_portal_app",
    "current_person",
    "login_required",
    "render_connexion",
    "right_required",
]
