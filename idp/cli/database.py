from __future__ import annotations

import click
from flask.cli import AppGroup

import migrations
from idp.cli.session import settings

command = AppGroup("db", help="Database schema (Alembic migrations).")


@command.command("upgrade")
@click.argument("revision", default="head")
def upgrade(revision: str) -> None:
    """Brings the schema up to REVISION (default: the newest)."""
    migrations.upgrade(settings().database_url, revision)
    click.echo(f"Schéma à jour ({revision}).")


@command.command("downgrade")
@click.argument("revision")
def downgrade(revision: str) -> None:
    """Takes the schema back to REVISION (`base` removes every table)."""
    migrations.downgrade(settings().database_url, revision)
    click.echo(f"Schéma ramené à {revision}.")
