"""WSGI entry point for gunicorn (`gunicorn idp.wsgi:app`): settings from `HUB_*` variables."""

from idp import create_app

app = create_app()
