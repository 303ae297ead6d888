"""Alembic migrations of the hub's database, and the calls the command line and tests use."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def script_heads() -> frozenset[str]:
    """The revisions a database at head carries: the heads of this package's scripts."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


def database_heads(connection: Connection) -> frozenset[str]:
    """The revisions the database on `connection` is at (none before its first migration)."""
    return frozenset(MigrationContext.configure(connection).get_current_heads())
