"""The `hub` script: the identity provider's commands (`idp.cli`), and `hub run`, which starts
the hub and, for the demo, the portals beside it."""

from __future__ import annotations

from flask.cli import AppGroup, ScriptInfo

from idp import create_app
from idp.cli import cli as idp_commands
from launcher import cluster, run, worker

cli = AppGroup("hub", help=idp_commands.help)
for name, command in idp_commands.commands.items():
    cli.add_command(command, name)
cli.add_command(run.command)
cli.add_command(worker.command)
cli.add_command(cluster.command)


def main() -> None:
    """Entry point of the `hub` script: the app comes from the `HUB_*` environment."""
    cli.main(prog_name="hub", obj=ScriptInfo(create_app=create_app, set_debug_flag=False))
