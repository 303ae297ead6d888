"""WSGI entry point for the web server (`launcher.web_server`: granian's `idp.wsgi:app`):
settings from `HUB_*` variables."""

from idp import create_app

app = create_app()
