"""Flask extensions, created unbound here and bound in `create_app`."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.engine import Engine, make_url

from hub.database import Base, make_engine


class HubSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy over the hub's own models, with the hub's engine set-up (SQLite WAL,
    foreign keys, explicit BEGIN) so that the web app and the command line behave alike."""

    def _make_engine(self, bind_key: str | None, options: dict[str, Any], app: Flask) -> Engine:
        url = make_url(options.pop("url")).render_as_string(hide_password=False)
        return make_engine(url, **options)


db = HubSQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
