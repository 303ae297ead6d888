"""`hub worker`: the background work without the web servers, for deployments that keep them
apart (a `hub worker` unit beside `hub run --no-background` ones). It may run on several
machines at once, like `hub run`: `launcher.background` says why each thing is still done once.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from idp.cli.session import settings
from idp.extensions import db
from launcher.background import background_workers, show_background_log
from launcher.servers import Shutdown, Stop, signals_to


@click.command(
    "worker",
    help="Travaux de fond seuls (courriels, déconnexions, rappels, purge), sans serveur web.",
)
@with_appcontext
def command() -> None:
    workers = background_workers(settings(), db.engine)
    show_background_log(settings())
    shutdown = Shutdown(servers=[])
    with signals_to(shutdown):
        try:
            for worker in workers:
                worker.start()
            click.echo(f"Travaux de fond démarrés : {', '.join(w.name for w in workers)}.")
            click.echo("Ctrl-C pour arrêter.")
            while True:
                shutdown.pause(3600)
        except Stop:
            click.echo("\nArrêt en cours…")
        finally:
            shutdown.stop_workers(workers)
    click.echo("Arrêté.")
