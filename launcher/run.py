"""`hub run`: everything a person needs to try the hub, in one command.

It checks that every server's port is free and, outside the demo (`--demo`, `HUB_DEMO`), that
the configuration is fit for production (`hub check`: a blocking problem starts nothing). It
migrates the database, optionally loads the demo data, starts the hub (and with `--demo` the
portals) in child processes (the hub under granian, `launcher.web_server`; the portals under
gunicorn), and runs the background work from threads
(`launcher.background`: mail, back-channel logouts, the periodic jobs; with `--demo` and no
`HUB_SMTP_HOST`, mail goes to a local catcher read at the hub's `/dev/mail` instead of a mail
server). It prints the URLs only once each server answers. Ctrl-C (or SIGTERM) stops everything,
after `HUB_DRAIN_SECONDS` of draining behind a load balancer; a further one hurries the stop,
and the servers die with `hub run` even when it is killed: `launcher.servers` says how.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import click
from flask.cli import with_appcontext

import migrations
from hub.config import Smtp
from hub.config_checks import is_blocking
from hub.mail.catcher import MailCatcher
from hub.polling import PollingWorker
from idp.cli import check
from idp.cli.demo import load as load_demo
from idp.cli.output import fail_usage
from idp.cli.session import settings
from idp.extensions import db
from idp.logs import JSON
from idp.metrics.scrape import MULTIPROCESS_VARIABLE
from launcher import web_server
from launcher.background import background_workers, show_background_log
from launcher.servers import (
    Server,
    Shutdown,
    Stop,
    refuse_taken_ports,
    signals_to,
    wait_until_ready,
    watch,
)


def hub_server(
    host: str,
    port: int,
    workers: int,
    *,
    mail_catcher: MailCatcher | None = None,
    demo: bool = False,
) -> Server:
    """The hub under granian (`launcher.web_server`). With `demo` and no `HUB_LDAP_URL`, the
    support console signs in from the demo's embedded directory (R11: `make run` needs no
    directory server)."""
    bound = f"http://{host}:{port}"
    url = os.environ.get("HUB_PUBLIC_URL") or bound  # the issuer the portals must use
    hub_settings = settings()
    argv = web_server.argv(host, port, workers, json_logs=hub_settings.log_format == JSON)
    instance = hub_settings.instance_path.resolve()
    env = {
        "HUB_INSTANCE_PATH": str(instance),
        "HUB_PUBLIC_URL": url,
        "HUB_DRAIN_FILE": str(drain_file(port)),
        MULTIPROCESS_VARIABLE: str(metrics_folder(instance, port)),
    }
    if mail_catcher is not None:
        env["HUB_MAIL_CATCHER"] = str(mail_catcher.folder)
    if demo:
        env["HUB_DEMO"] = "1"  # the servers know they serve the demo, as `hub run` does
        if not os.environ.get("HUB_LDAP_URL"):
            env["HUB_SUPPORT_DEMO_DIRECTORY"] = "1"
    # granian's main process answers SIGTERM by setting a threading.Event from its signal
    # handler, which can deadlock when the signal lands while that same thread holds the
    # Event's lock (a `hub run` killed under load once left granian serving, deaf to SIGTERM).
    # SIGKILL to its main process takes its workers with it.
    return Server("Hub d'identité", argv, url, f"{bound}/readyz", env, signal.SIGKILL)


def drain_file(port: int) -> Path:
    """While it exists, the hub on `port` says it is not ready (`/readyz`), so that the load
    balancer stops sending it requests before it stops."""
    return settings().instance_path.resolve() / f"draining-{port}"


def drain(port: int, shutdown: Shutdown) -> None:
    """On a stop, the hub first reports itself draining for `HUB_DRAIN_SECONDS` (at least the
    load balancer's check interval), serving all the while; then it stops. Nothing is lost
    either way: requests that reach a stopping server are finished (the web server's graceful stop),
    and connections it no longer accepts are retried elsewhere by the balancer."""
    seconds = settings().drain_seconds
    if seconds <= 0:
        return
    drain_file(port).touch()
    click.echo(f"Plus de nouvelles requêtes dans {seconds:g} s…")
    shutdown.linger(seconds)


def metrics_folder(instance: Path, port: int) -> Path:
    """Where the workers of the hub instance on `port` keep their counts for `/metrics`: one
    folder per instance, emptied before it starts (`empty_metrics_folder`)."""
    return instance / "metrics" / str(port)


def empty_metrics_folder(hub: Server) -> None:
    """A fresh start for the hub's counts: files left by a previous run's workers would be
    added to the new ones'. Called once the port is known free, so never under a running
    instance."""
    folder = Path(hub.env[MULTIPROCESS_VARIABLE])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def demo_mail_catcher(root: Path | None = None) -> MailCatcher:
    """The demo's mail goes to a catcher on a free loopback port (`hub.mail.catcher`), read at
    the hub's `/dev/mail`, unless `HUB_SMTP_HOST` names a real server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return MailCatcher((root or settings().instance_path.resolve()) / "caught-mail", port)


def catcher_smtp(smtp: Smtp, catcher: MailCatcher) -> Smtp:
    return replace(
        smtp, host="127.0.0.1", port=catcher.port, starttls=False, ssl=False,
        username=None, password=None,
    )  # fmt: skip


def portal_servers(issuer: str) -> list[Server]:
    """SOLTÉA and Certificateurs on their demo ports, signing in at `issuer`, as an operator
    would start them from the kit's serving spec (plain data: the portals' code is not imported
    here, and they speak to the hub over HTTP only)."""
    from portals.kit.serving import demo_portal_servers

    specs = demo_portal_servers(issuer=issuer, instance_root=settings().instance_path)
    return [Server(s.name, s.argv, s.url, s.health_url, s.env) for s in specs]


def refuse_blocking_configuration() -> None:
    """Outside the demo, `hub check`'s findings first: its warnings are printed, and a blocking
    problem stops `hub run` (status 1) before anything is migrated or started."""
    found = check.findings()
    if not is_blocking(found):
        check.show(found, problems_only=True)
        return
    check.show(found, problems_only=True, err=True)
    click.echo(check.summary(found), err=True)
    fail_usage(
        "configuration de production incomplète : rien n'a été démarré (hub check pour le "
        "détail, --demo ou HUB_DEMO=1 pour essayer le hub sur cette machine).",
        code=1,
    )


def serve_until_stopped(
    servers: Sequence[Server],
    *,
    catcher: MailCatcher | None = None,
    mail_url: str = "",
    workers: Sequence[PollingWorker] = (),
    draining: Callable[[Shutdown], None] | None = None,
) -> None:
    """Starts `servers`, then the demo's mail catcher and the background `workers`; says where
    each server answers once all do; keeps them until Ctrl-C or SIGTERM (or until one dies),
    `draining` first on a stop asked for; then stops everything it started."""
    shutdown = Shutdown(servers)
    catching = False
    with signals_to(shutdown):
        try:
            for server in servers:  # first: no other thread may run while they start
                server.start()
            if catcher is not None:
                catcher.start()
                catching = True
            for worker in workers:
                worker.start()
            wait_until_ready(servers, shutdown)
            for server in servers:
                click.echo(f"{server.name} prêt : {server.url}")
            if catcher is not None:
                click.echo(f"Courriels de démonstration (non envoyés) : {mail_url}")
            click.echo("Ctrl-C pour tout arrêter.")
            watch(servers, shutdown)
        except Stop:
            click.echo("\nArrêt en cours…")
            if draining is not None:
                draining(shutdown)
        finally:
            shutdown.stop_servers()
            shutdown.stop_workers(workers)
            if catcher is not None and catching:
                catcher.stop()
    click.echo("Arrêté.")


@click.command(
    "run",
    help="Migre la base, charge la démo (--demo) et démarre le hub, et les portails avec --demo.",
)
@click.option("--demo", is_flag=True, help="Charger les données de démonstration (DESIGN.md §4).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Adresse d'écoute.")
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option(
    "--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="Processus web."
)
@click.option(
    "--portals/--no-portals",
    default=None,
    help="Démarrer SOLTÉA (:5001) et Certificateurs (:5002) ; par défaut avec --demo.",
)
@click.option(
    "--background/--no-background",
    default=True,
    show_default=True,
    help="Travaux de fond (courriels, déconnexions, rappels, purge) ; sinon `hub worker`.",
)
@with_appcontext
def command(
    demo: bool, host: str, port: int, workers: int, portals: bool | None, background: bool
) -> None:
    hub_settings = settings()
    catcher = demo_mail_catcher() if demo and not os.environ.get("HUB_SMTP_HOST") else None
    hub = hub_server(host, port, workers, mail_catcher=catcher, demo=demo)
    servers = [hub, *(portal_servers(hub.url) if portals or (portals is None and demo) else [])]
    refuse_taken_ports(servers)
    if not (demo or hub_settings.demo):
        refuse_blocking_configuration()
    empty_metrics_folder(hub)
    migrations.upgrade(hub_settings.database_url)
    click.echo("Base de données à jour.")
    if demo:
        created = load_demo()
        click.echo(f"Données de démonstration : {len(created)} élément(s) créé(s).")
    smtp = catcher_smtp(hub_settings.smtp, catcher) if catcher else None
    pollers = background_workers(hub_settings, db.engine, smtp=smtp) if background else []
    if pollers:
        show_background_log(hub_settings)
    drain_file(port).unlink(missing_ok=True)
    serve_until_stopped(
        servers,
        catcher=catcher,
        mail_url=f"{hub.url}/dev/mail",
        workers=pollers,
        draining=lambda shutdown: drain(port, shutdown),
    )
    drain_file(port).unlink(missing_ok=True)
