"""The hub and both portals on loopback ports, with real HTTP between them, each served by
werkzeug in a thread of the test process — so that `time_machine` moves all three clocks at
once (tests travel in time rather than sleep).

The demo's OIDC clients are registered for ports 5001/5002, which parallel test runs cannot
share: each run registers its own clients for the portals' actual ports, with the hub's own
`register_client`, on the demo's portals (so the `accounts` claim is the demo's).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.serving import BaseWSGIServer, make_server

from hub.actors import System
from hub.clock import utcnow
from hub.config import Settings
from hub.oidc.clients import register_client
from hub.portals.models import Portal
from idp import create_app as create_hub
from portals import certificateurs, soltea
from portals.kit.config import PortalConfig

HOST = "127.0.0.1"


def _unbound(environ, start_response):  # pragma: no cover - replaced before serving
    start_response("503 Service Unavailable", [])
    return [b""]


class LoopbackServer:
    """A port taken first (the app's configuration needs its own URL), served once the app
    exists."""

    def __init__(self) -> None:
        self.server: BaseWSGIServer = make_server(HOST, 0, _unbound, threaded=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server.server_port}"

    def serve(self, app: Flask) -> None:
        self.server.app = app
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


@dataclass
class Apps:
    hub: str
    soltea: str
    certificateurs: str
    hub_app: Flask
    session_factory: sessionmaker[Session]
    portal_apps: dict[str, Flask] = field(default_factory=dict)  # by portal code


def register_portal_client(session: Session, code: str, base_url: str) -> tuple[str, str]:
    """A client of the demo portal `code` answering at `base_url`; returns (id, secret)."""
    portal = session.scalar(select(Portal).filter_by(code=code))
    assert portal is not None, f"portal {code} missing: load the demo first"
    client_id = f"{code}-e2e"
    _client, secret = register_client(
        session,
        by=System("e2e"),
        now=utcnow(),
        client_id=client_id,
        portal=portal,
        redirect_uris=[f"{base_url}/auth/callback"],
        post_logout_redirect_uris=[f"{base_url}/"],
        backchannel_logout_uri=f"{base_url}/auth/backchannel-logout",
    )
    return client_id, secret


@contextmanager
def three_apps(
    settings: Settings, session_factory: sessionmaker[Session], instance_root: Path
) -> Iterator[Apps]:
    """The hub on `settings`' database (demo loaded) and SOLTÉA and Certificateurs, each on a
    free port of 127.0.0.1, each portal with its own SQLite file under `instance_root`."""
    servers = {name: LoopbackServer() for name in ("hub", "soltea", "certificateurs")}
    portal_apps: dict[str, Flask] = {}
    try:
        hub_app = create_hub(replace(settings, public_url=servers["hub"].url))
        servers["hub"].serve(hub_app)
        for package in (soltea, certificateurs):
            code = package.IDENTITY.code
            with session_factory.begin() as session:
                client_id, secret = register_portal_client(session, code, servers[code].url)
            config = PortalConfig.from_env(
                package.IDENTITY,
                environ={},
                issuer=servers["hub"].url,
                client_id=client_id,
                client_secret=secret,
                base_url=servers[code].url,
                instance_path=instance_root / code,
            )
            portal_apps[code] = package.create_app(config)
            servers[code].serve(portal_apps[code])
        yield Apps(
            hub=servers["hub"].url,
            soltea=servers["soltea"].url,
            certificateurs=servers["certificateurs"].url,
            hub_app=hub_app,
            session_factory=session_factory,
            portal_apps=portal_apps,
        )
    finally:
        for server in servers.values():
            server.stop()
        if "hub_app" in locals():
            with hub_app.app_context():
                from idp.extensions import db

                db.engine.dispose()
