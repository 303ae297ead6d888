"""Certificateurs: the certifiers' deposit portal, a thin relying party of the hub. Everything
shared is the kit's; this package holds its own pages (for now, its home with the deposit
menus of R13, shown only to accounts with `data_exchange`, R7).
`gunicorn 'portals.certificateurs:create_app()'`."""

from __future__ import annotations

from typing import Any

from flask import Flask

from portals.certificateurs.deposits.settings import DepositSettings
from portals.kit import PortalConfig, PortalIdentity, create_portal_app

IDENTITY = PortalIdentity(
    code="certificateurs", name="Certificateurs", demo_base_url="http://127.0.0.1:5002"
)


def create_app(
    config: PortalConfig | None = None,
    *,
    deposits: DepositSettings | None = None,
    **flask_config: Any,
) -> Flask:
    """Application factory; `config` and `deposits` default to the `CERTIFICATEURS_*`
    environment variables."""
    from portals.certificateurs import deposit_pages, views
    from portals.certificateurs.deposits import extension

    app = create_portal_app(
        IDENTITY,
        import_name=__name__,
        config=config,
        blueprints=[views.bp, deposit_pages.bp],
        **flask_config,
    )
    app.request_class = deposit_pages.DepositRequest
    extension.init_app(app, deposits)
    return app
