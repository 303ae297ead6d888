"""`hub logout deliver`: posting the back-channel logout tokens that are due, once, by hand.

`hub run` does this every second; an operator uses the command after fixing a portal that was
down, or where the hub is served without `hub run`.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from hub.database import make_session_factory
from idp.extensions import db
from idp.oidc.backchannel import deliver_due

command = AppGroup("logout", help="Déconnexion unique : notifications back-channel des portails.")


@command.command("deliver", help="Transmet maintenant aux portails les déconnexions en attente.")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Essayer toutes les déconnexions en attente, sans attendre le délai entre deux essais.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Nombre maximal de déconnexions traitées.",
)
def deliver(everything: bool, limit: int) -> None:
    report = deliver_due(make_session_factory(db.engine), batch=limit, due_only=not everything)
    click.echo(
        f"{report.delivered} déconnexion(s) transmise(s), {report.retried} reportée(s), "
        f"{report.abandoned} abandonnée(s)."
    )
