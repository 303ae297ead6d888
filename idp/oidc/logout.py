"""RP-initiated logout and back-channel logout (built in the logout work)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("oidc_logout", __name__)
