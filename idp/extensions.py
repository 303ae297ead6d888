"""Flask extensions, created unbound here and bound in `create_app`."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy.engine import Connection, Engine, make_url

from hub.database import Base, joined_connection, make_engine


class HubSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy over the hub's own models, with the hub's engine set-up (SQLite WAL,
    foreign keys, explicit BEGIN) so that the web app and the command line behave alike."""

    def _make_engine(self, bind_key: str | None, options: dict[str, Any], app: Flask) -> Engine:
        url = make_url(options.pop("url")).render_as_string(hide_password=False)
        return make_engine(url, **options)


class HubSession(Session):
    """The web app's session, which joins the transaction of a unit of work on a connection
    running in its thread (`hub.transactions.on_connection`) rather than opening its own: its
    flush is part of that unit, whose owner commits or rolls it back (`rollback_only`: the
    session's commit does not commit the connection, its rollback rolls it back)."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Engine | Connection:
        connection = joined_connection()
        return connection if connection is not None else super().get_bind(*args, **kwargs)


db = HubSQLAlchemy(
    model_class=Base,
    session_options={
        "class_": HubSession,
        "expire_on_commit": False,
        "join_transaction_mode": "rollback_only",
    },
)
