"""Alembic migrations of the hub's database, and the calls the command line and tests use.

Alembic is imported by the calls that run it, not with the package: a web worker imports
`migrations.heads` for `/readyz`, and would otherwise carry alembic, mako and pygments unused.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from migrations.heads import database_heads, script_heads

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).resolve().parent

__all__ = ["HERE", "alembic_config", "database_heads", "downgrade", "script_heads", "upgrade"]


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config  # only where alembic runs (see the module docstring)

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command  # only where alembic runs (see the module docstring)

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command  # only where alembic runs (see the module docstring)

    command.downgrade(alembic_config(database_url), revision)
