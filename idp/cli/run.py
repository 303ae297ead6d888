"""`hub run`: everything a person needs to try the hub, in one command.

It migrates the database, optionally loads the demo data, starts the hub under gunicorn in a
child process, and delivers mail and back-channel logouts, and the daily expiry reminders, from
background threads (with `--demo` and no `HUB_SMTP_HOST`, mail goes to a local catcher read at
the hub's `/dev/mail` instead of a mail server). It prints the URLs only once each server
answers, and Ctrl-C (or SIGTERM) stops everything: children get SIGTERM, then SIGKILL if they
linger. A child that dies on its own stops the others, so a half-running demo never passes for
a working one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import FrameType

import click
import requests
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

READY_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0


class Stop(Exception):
    """Raised in the main thread by Ctrl-C (SIGINT) or SIGTERM."""


@dataclass
class Server:
    """A child process serving HTTP, ready once `health_url` answers 200."""

    name: str
    argv: Sequence[str]
    url: str
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        # Its own session: Ctrl-C reaches `hub run` only, which then stops children in order.
        self.process = subprocess.Popen(  # noqa: S603 - argv built here, not from input
            self.argv, env=os.environ | self.env, start_new_session=True
        )

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def answers(self) -> bool:
        try:
            return requests.get(self.health_url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def hub_server(
    host: str, port: int, workers: int, *, mail_catcher: MailCatcher | None = None
) -> Server:
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
    return Server("Hub d'identité", argv, url, f"{bound}/healthz", env)


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


def wait_until_ready(servers: Sequence[Server], timeout: float = READY_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(servers)
    while waiting:
        for server in list(waiting):
            code = server.exited()
            if code is not None:
                raise click.ClickException(
                    f"{server.name} s'est arrêté au démarrage (code {code})."
                )
            if server.answers():
                waiting.remove(server)
        if waiting and time.monotonic() > deadline:
            names = ", ".join(server.name for server in waiting)
            raise click.ClickException(f"Délai dépassé : {names} ne répond pas.")
        time.sleep(0.2)


def watch(servers: Sequence[Server]) -> None:
    """Returns when a child exits; Ctrl-C and SIGTERM interrupt it."""
    while True:
        for server in servers:
            code = server.exited()
            if code is not None:
                raise click.ClickException(f"{server.name} s'est arrêté (code {code}).")
        time.sleep(0.5)


@contextmanager
def stopping_on_signals() -> Iterator[None]:
    """SIGINT is handled explicitly too: a shell script starting `hub run` in the background
    leaves it ignored, and Ctrl-C must still work from wherever the command was started."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise Stop()

    stopping = (signal.SIGINT, signal.SIGTERM)
    previous = {signum: signal.signal(signum, handler) for signum in stopping}
    try:
        yield
    finally:
        for signum, action in previous.items():
            signal.signal(signum, action)


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
    migrations.upgrade(hub_settings.database_url)
    click.echo("Base de données à jour.")
    if demo:
        created = load_demo()
        click.echo(f"Données de démonstration : {len(created)} élément(s) créé(s).")
    catcher = demo_mail_catcher() if demo and not os.environ.get("HUB_SMTP_HOST") else None
    smtp = catcher_smtp(hub_settings.smtp, catcher) if catcher else hub_settings.smtp
    mail = MailWorker(
        make_session_factory(db.engine), SmtpSender(smtp), hub_settings.mail_poll_seconds
    )
    logouts = LogoutWorker(make_session_factory(db.engine))
    reminders = ReminderWorker(make_session_factory(db.engine), hub_settings.reminders)
    hub = hub_server(host, port, workers, mail_catcher=catcher)
    servers = [hub, *(portal_servers(hub.url) if portals or (portals is None and demo) else [])]
    with stopping_on_signals():
        try:
            if catcher is not None:
                catcher.start()
            mail.start()
            logouts.start()
            reminders.start()
            for server in servers:
                server.start()
            wait_until_ready(servers)
            for server in servers:
                click.echo(f"{server.name} prêt : {server.url}")
            if catcher is not None:
                click.echo(f"Courriels de démonstration (non envoyés) : {hub.url}/dev/mail")
            click.echo("Ctrl-C pour tout arrêter.")
            watch(servers)
        except Stop:
            click.echo("\nArrêt en cours…")
        finally:
            for server in reversed(servers):
                server.stop()
            reminders.stop()
            logouts.stop()
            mail.stop()
            if catcher is not None:
                catcher.stop()
    click.echo("Arrêté.")
