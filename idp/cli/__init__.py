"""The `hub` command: database, demo data, referential import, reports, mail, expiry reminders,
OIDC clients and keys, back-channel logout, and `hub run`."""

from __future__ import annotations

from flask.cli import AppGroup, ScriptInfo, routes_command, shell_command

from idp import create_app
from idp.cli import (
    accounts,
    audit,
    clients,
    database,
    demo,
    keys,
    logout,
    mail,
    reminders,
    run,
    structures,
)

cli = AppGroup("hub", help="Hub d'identité des portails de la formation professionnelle.")
cli.add_command(shell_command)
cli.add_command(routes_command)
for module in (
    database,
    demo,
    run,
    structures,
    accounts,
    audit,
    mail,
    reminders,
    clients,
    keys,
    logout,
):
    cli.add_command(module.command)


def main() -> None:
    """Entry point of the `hub` script: the app comes from the `HUB_*` environment."""
    cli.main(prog_name="hub", obj=ScriptInfo(create_app=create_app, set_debug_flag=False))
