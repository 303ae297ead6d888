"""The identity provider's commands: database, demo data, referential import, reports, mail,
expiry reminders, OIDC clients and keys, back-channel logout, the purge and the configuration
check. The `hub` script adds `hub run` (`launcher.cli`), which starts the portals too."""

from __future__ import annotations

from flask.cli import AppGroup, routes_command, shell_command

from idp.cli import (
    accounts,
    audit,
    check,
    clients,
    database,
    demo,
    keys,
    logout,
    mail,
    purge,
    reminders,
    structures,
)

cli = AppGroup("hub", help="Hub d'identité des portails de la formation professionnelle.")
cli.add_command(shell_command)
cli.add_command(routes_command)
for module in (
    database,
    demo,
    structures,
    accounts,
    audit,
    mail,
    reminders,
    clients,
    keys,
    logout,
    purge,
    check,
):
    cli.add_command(module.command)
