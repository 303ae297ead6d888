"""The identity provider web app: OIDC endpoints, sign-in and account pages, the admin API."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from hub.config import Settings
from idp.extensions import db
from idp.web.settings import SETTINGS_KEY


class BufferedResponse(Response):
    """A response whose body is in memory leaves as a list: granian sends a list in one call,
    where it steps through an iterator from Rust (15 µs more a response). Its `close` then
    runs before the body is sent, not after; a streamed body stays an iterator."""

    def get_app_iter(self, environ: dict[str, Any]) -> Iterable[bytes]:
        body = super().get_app_iter(environ)
        if not self.is_sequence:
            return body
        try:
            return list(body)
        finally:
            body.close()  # type: ignore[attr-defined]


class HubFlask(Flask):
    """Flask, for an app whose views and hooks are all plain functions."""

    response_class = BufferedResponse

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask asks, on every call of a view or hook (ten a request), whether it is a
        coroutine function (3 µs each); none is. One registered later would fail loudly: its
        coroutine is not a response."""
        return func


def create_app(settings: Settings | None = None, **flask_config: Any) -> Flask:
    """Application factory. `settings` defaults to the `HUB_*` environment variables."""
    settings = settings or Settings.from_env()
    app = HubFlask(__name__, instance_path=str(settings.instance_path.resolve()))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=64 * 1024,
    )
    app.config[SETTINGS_KEY] = settings
    app.config.update(flask_config)
    db.init_app(app)

    from idp import health, input_guard, logs, registration, request_ids, security, support
    from idp.api import admin, me, openapi
    from idp.auth import invitations, passwords, renewal_requests, views
    from idp.metrics import scrape
    from idp.oidc import endpoints, fast_path, logout
    from idp.web import csrf, database_wait, errors, sessions

    app.register_blueprint(health.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(passwords.bp)
    app.register_blueprint(renewal_requests.bp)
    app.register_blueprint(invitations.bp)
    app.register_blueprint(registration.bp)
    app.register_blueprint(support.bp)
    app.register_blueprint(endpoints.bp)
    app.register_blueprint(logout.bp)
    app.register_blueprint(me.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(openapi.bp)
    if settings.mail_catcher is not None:
        from idp import mail_catcher

        app.register_blueprint(mail_catcher.bp)
    app.session_interface = sessions.WithoutFlaskSession()
    app.after_request(sessions.apply_cookie)
    csrf.init_app(app)
    request_ids.init_app(app)
    scrape.init_app(app)
    logs.init_app(app, settings.log_format)
    input_guard.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    fast_path.init_app(app)  # inside `DatabaseWait`: its body buffer and replays serve both paths
    database_wait.init_app(app, wait_seconds=settings.database_wait_seconds)
    if settings.trusted_proxies:
        # The browser's address and scheme, as the last `trusted_proxies` hops report them; the
        # Host is not taken from a header: the hub's URLs come from `public_url`.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )
    return app
