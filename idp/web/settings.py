"""The hub's settings as the web app holds them (set once by `idp.create_app`)."""

from __future__ import annotations

from flask import Flask

from hub.config import Settings

SETTINGS_KEY = "HUB_SETTINGS"


def settings_of(app: Flask) -> Settings:
    return app.config[SETTINGS_KEY]
