"""`hub run`: everything a person needs to try the hub, in one command.

It checks that every server's port is free, migrates the database, optionally loads the demo
data, starts the hub (and with `--demo` the portals) under gunicorn in child processes, and
delivers mail and back-channel logouts, and the daily expiry reminders, from background threads
(with `--demo` and no `HUB_SMTP_HOST`, mail goes to a local catcher read at the hub's `/dev/mail`
instead of a mail server). It prints the URLs only once each server answers. Ctrl-C (or SIGTERM)
stops everything, a further one hurries the stop, and the servers die with `hub run` even when
it is killed: `launcher.servers` says how.
"""

from __future__ import annotations

import os
import socket
import sys
from dataclasses import replace

import click
from flask.cli import with_appcontext

import migrations
from hub.config import Smtp
from hub.database import make_session_factory
from hub.mail.catcher import MailCatcher
from hub.mail.sender import SmtpSender
from hub.mail.worker import MailWorker
from hub.reminders.worker import ReminderWorker
from idp.cli.demo import load as load_demo
from idp.cli.session import settings
from idp.extensions import db
from idp.oidc.backchannel import LogoutWorker
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
    """The hub under gunicorn. With `demo` and no `HUB_LDAP_URL`, the support console signs in
    from the demo's embedded directory (R11: `make run` needs no directory server)."""
    bound = f"http://{host}:{port}"
    url = os.environ.get("HUB_PUBLIC_URL") or bound  # the issuer the portals must use
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--access-logfile",
        "-",
        "--graceful-timeout",
        "5",
        "--no-control-socket",
        "idp.wsgi:app",
    ]
    env = {"HUB_INSTANCE_PATH": str(settings().instance_path.resolve()), "HUB_PUBLIC_URL": url}
    if mail_catcher is not None:
        env["HUB_MAIL_CATCHER"] = str(mail_catcher.folder)
    if demo and not os.environ.get("HUB_LDAP_URL"):
        env["HUB_SUPPORT_DEMO_DIRECTORY"] = "1"
    return Server("Hub d'identité", argv, url, f"{bound}/readyz", env)


def demo_mail_catcher() -> MailCatcher:
    """The demo's mail goes to a catcher on a free loopback port (`hub.mail.catcher`), read at
    the hub's `/dev/mail`, unless `HUB_SMTP_HOST` names a real server."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return MailCatcher(settings().instance_path.resolve() / "caught-mail", port)


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
@with_appcontext
def command(demo: bool, host: str, port: int, workers: int, portals: bool | None) -> None:
    hub_settings = settings()
    catcher = demo_mail_catcher() if demo and not os.environ.get("HUB_SMTP_HOST") else None
    hub = hub_server(host, port, workers, mail_catcher=catcher, demo=demo)
    servers = [hub, *(portal_servers(hub.url) if portals or (portals is None and demo) else [])]
    refuse_taken_ports(servers)
    migrations.upgrade(hub_settings.database_url)
    click.echo("Base de données à jour.")
    if demo:
        created = load_demo()
        click.echo(f"Données de démonstration : {len(created)} élément(s) créé(s).")
    smtp = catcher_smtp(hub_settings.smtp, catcher) if catcher else hub_settings.smtp
    pollers = [
        MailWorker(
            make_session_factory(db.engine), SmtpSender(smtp), hub_settings.mail_poll_seconds
        ),
        LogoutWorker(make_session_factory(db.engine)),
        ReminderWorker(make_session_factory(db.engine), hub_settings.reminders),
    ]
    shutdown = Shutdown(servers)
    catching = False
    with signals_to(shutdown):
        try:
            for server in servers:  # first: no other thread may run while they start
                server.start()
            if catcher is not None:
                catcher.start()
                catching = True
            for worker in pollers:
                worker.start()
            wait_until_ready(servers, shutdown)
            for server in servers:
                click.echo(f"{server.name} prêt : {server.url}")
            if catcher is not None:
                click.echo(f"Courriels de démonstration (non envoyés) : {hub.url}/dev/mail")
            click.echo("Ctrl-C pour tout arrêter.")
            watch(servers, shutdown)
        except Stop:
            click.echo("\nArrêt en cours…")
        finally:
            shutdown.stop_servers()
            shutdown.stop_workers(pollers)
            if catcher is not None and catching:
                catcher.stop()
    click.echo("Arrêté.")
