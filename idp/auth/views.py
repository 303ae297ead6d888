"""Sign-in pages (built in the sign-in work)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("auth", __name__)
