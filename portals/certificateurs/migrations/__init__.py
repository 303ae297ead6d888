"""Alembic migrations of Certificateurs' deposit tables, in the portal's own database next to
the kit's tables, with a version table of their own (`certificateurs_alembic_version`).

`upgrade(engine)` runs at the portal's start. Gunicorn starts several workers at once: the
upgrade holds the kit's schema lock meanwhile (`portals.kit.database.schema_lock`), so the second
worker finds the tables there.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection, Engine

from portals.kit.database import schema_lock

HERE = Path(__file__).resolve().parent
VERSION_TABLE = "certificateurs_alembic_version"


def alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with schema_lock(engine) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str) -> None:
    with schema_lock(engine) as connection:
        command.downgrade(alembic_config(connection), revision)
