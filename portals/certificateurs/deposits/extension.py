"""How the Certificateurs app holds its `Deposits` (one per process), for the views."""

from __future__ import annotations

from flask import Flask, current_app

from portals.certificateurs.deposits.context import Deposits, open_deposits
from portals.certificateurs.deposits.settings import DepositSettings
from portals.kit.extension import EXTENSION as KIT

EXTENSION = "certificateurs_deposits"


def init_app(app: Flask, settings: DepositSettings | None = None) -> Deposits:
    """Opens the deposits on the kit's database (migrated at once; several gunicorn workers
    may start together) and starts this process's consumer. `settings` default to the
    `CERTIFICATEURS_*` variables, next to the portal's instance folder."""
    kit = app.extensions[KIT]
    settings = settings or DepositSettings.from_env(kit.config.instance_path)
    deposits = open_deposits(kit.engine, settings)
    app.extensions[EXTENSION] = deposits
    return deposits


def current_deposits() -> Deposits:
    return current_app.extensions[EXTENSION]
