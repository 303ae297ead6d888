"""The « Administration » blueprint with every page registered on it (the kit registers `bp`
for every portal)."""

from __future__ import annotations

from portals.kit.admin import accounts, changes, creation, history
from portals.kit.admin.blueprint import bp

PAGES = (accounts, changes, creation, history)  # imported for the routes they register

__all__ = ["PAGES", "bp"]
