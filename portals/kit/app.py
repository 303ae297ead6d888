"""`create_portal_app`: what every portal is made of, so that `portals/<name>/` holds only what
differs (its home page and its own menus)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import requests
from flask import Blueprint, Flask, redirect, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from portals.kit import messages, security_headers
from portals.kit.admin import views as admin_views
from portals.kit.auth import backchannel, client, freshness, signins
from portals.kit.auth import views as auth_views
from portals.kit.auth.access import current_person
from portals.kit.auth.keys import HubKeys
from portals.kit.clock import paris_date
from portals.kit.config import PortalConfig, PortalIdentity
from portals.kit.csrf import check_csrf, csrf_token
from portals.kit.database import create_tables, make_engine
from portals.kit.errors import HubUnavailable, TokenRejected
from portals.kit.extension import EXTENSION, Kit
from portals.kit.health import bp as health_bp
from portals.kit.me import views as me_views
from portals.kit.my_portals import views as my_portals_views
from portals.kit.pages import render_message
from portals.kit.sessions.interface import ServerSideSessions

log = logging.getLogger("portals.kit")

ERROR_PAGES = {
    400: ("Demande invalide", "La demande n'a pas pu être comprise."),
    403: (messages.RESTRICTED_TITLE, "Vous n'avez pas accès à cette page."),
    404: ("Page introuvable", "Cette page n'existe pas."),
    405: ("Demande invalide", "Cette page ne s'utilise pas ainsi."),
    413: ("Demande trop volumineuse", "Les données envoyées sont trop volumineuses."),
}


def create_portal_app(
    identity: PortalIdentity,
    *,
    import_name: str,
    config: PortalConfig | None = None,
    blueprints: Iterable[Blueprint] = (),
    **flask_config: Any,
) -> Flask:
    """A portal app: the kit's sign-in, sessions, pages and protections, plus the portal's own
    `blueprints` (at least one serving `/`). `config` defaults to the `<CODE>_*` variables."""
    config = config or PortalConfig.from_env(identity)
    app = Flask(import_name, instance_path=str(config.instance_path.resolve()))
    app.config.update(
        SECRET_KEY=config.secret_key,
        SESSION_COOKIE_NAME=config.cookie_name,
        MAX_CONTENT_LENGTH=1024 * 1024,
        MAX_FORM_MEMORY_SIZE=64 * 1024,
    )
    app.config.update(flask_config)
    engine = make_engine(config.database_url)
    create_tables(engine)
    app.extensions[EXTENSION] = Kit(
        config=config,
        engine=engine,
        hub=client.register(app, config),
        keys=HubKeys(timeout=config.hub_timeout),
    )
    app.session_interface = ServerSideSessions(config, engine)

    shared = Blueprint(
        "kit",
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/kit/static",
    )
    kit_blueprints = (shared, health_bp, auth_views.bp, backchannel.bp, me_views.bp)
    for blueprint in (*kit_blueprints, my_portals_views.bp, admin_views.bp, *blueprints):
        app.register_blueprint(blueprint)

    app.before_request(check_csrf)
    app.before_request(freshness.keep_fresh)
    app.after_request(security_headers.apply)
    _register_error_pages(app)
    app.jinja_env.globals.update(
        csrf_token=csrf_token,
        current_person=current_person,
        portal_name=config.name,
        portal_code=config.code,
        paris_date=paris_date,
        has_page=lambda endpoint: endpoint in app.view_functions,
    )
    return app


def _register_error_pages(app: Flask) -> None:
    @app.errorhandler(HubUnavailable)
    def hub_unavailable(error: HubUnavailable) -> tuple[str, int]:
        log.warning("hub unavailable on %s %s: %s", request.method, request.path, error)
        retry = error.retry_url or client.current_url()
        return render_message(
            messages.HUB_UNAVAILABLE_TITLE,
            messages.HUB_UNAVAILABLE,
            link=("Réessayer", retry),
            status=503,
        )

    @app.errorhandler(requests.RequestException)
    def hub_unreachable(error: requests.RequestException) -> tuple[str, int]:
        return hub_unavailable(HubUnavailable(str(error)))

    @app.errorhandler(TokenRejected)
    def token_rejected(error: TokenRejected) -> Response:
        """The hub no longer honours this sign-in (its session ended): so does the portal."""
        signins.end(notice="session_ended", reason=f"access token rejected: {error}")
        return redirect(url_for("kit_auth.connexion"))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if error.code is None or error.code not in ERROR_PAGES:
            return error
        title, message = ERROR_PAGES[error.code]
        return render_message(title, message, status=error.code)

    @app.errorhandler(500)
    def server_error(_error: Exception) -> tuple[str, int]:
        return render_message(
            "Erreur inattendue",
            "Une erreur inattendue est survenue. Veuillez réessayer.",
            status=500,
        )
