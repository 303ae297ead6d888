"""`hub cluster` (`make cluster`): the demo served by the production topology.

Two hub instances (`hub run --no-portals`, each with its web workers and its background
work) on one PostgreSQL database, behind HAProxy with the repository's `deploy/haproxy.cfg`,
and both portals signing in through the proxy: the demo's URLs, issuer and data, as a
deployment runs them. The instances share what must be shared — the database, the secret key
(each instance's cookies and forms are accepted by the other), the mail server — and nothing
else: each has its own instance folder.

Ctrl-C stops everything, as with `hub run` (`launcher.servers`).
"""

from __future__ import annotations

import os
import shutil
import sys
import uuid
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import text
from sqlalchemy.engine import make_url

import migrations
from hub.audit.services import audit_context
from hub.clock import utcnow
from hub.config import Settings
from hub.database import make_engine, make_session_factory
from hub.demo import load_demo
from hub.transactions import retrying
from idp.cli.output import fail_usage
from idp.cli.session import settings
from launcher.run import demo_mail_catcher, serve_until_stopped
from launcher.servers import Server, refuse_taken_ports

DEFAULT_DATABASE_URL = "postgresql+psycopg://127.0.0.1:5432/hub_cluster"
HAPROXY_CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "haproxy.cfg"
HUB = str(Path(sys.executable).parent / "hub")
HOST = "127.0.0.1"


def ensure_database(url: str) -> None:
    """Creates the PostgreSQL database named in `url` when it is missing, from the server's
    `postgres` database."""
    target = make_url(url)
    if target.get_backend_name() != "postgresql":
        fail_usage(
            "make cluster sert la démo sur PostgreSQL (plusieurs instances partagent la base) : "
            f"HUB_DATABASE_URL doit désigner une base PostgreSQL, pas {target.get_backend_name()}.",
            code=1,
        )
    engine = make_engine(
        target.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with engine.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            )
            if not exists:
                quoted = connection.dialect.identifier_preparer.quote(target.database)
                connection.execute(text(f"CREATE DATABASE {quoted}"))
                click.echo(f"Base {target.database} créée.")
    except Exception as error:  # any failure to reach the server, said in French
        fail_usage(f"PostgreSQL ne répond pas ({target.host}:{target.port}) : {error}", code=1)
    finally:
        engine.dispose()


def prepare_database(url: str, hub_settings: Settings) -> int:
    """Migrates the cluster's database and loads the demo once, before any instance starts;
    returns how many demo items were created."""
    migrations.upgrade(url)
    engine = make_engine(url)
    try:
        with audit_context(request_id=f"cli-{uuid.uuid4().hex[:12]}"):
            report = retrying(
                make_session_factory(engine),
                lambda session: load_demo(session, now=utcnow(), passwords=hub_settings.passwords),
            )
    finally:
        engine.dispose()
    return len(report.created)


def instance_server(
    number: int, port: int, *, shared: dict[str, str], root: Path, workers: int
) -> Server:
    """One hub instance: `hub run` without portals, on `port`, with its own instance folder."""
    argv = [HUB, "run", "--no-portals", "--port", str(port), "--workers", str(workers)]
    env = shared | {"HUB_INSTANCE_PATH": str(root / f"hub-{number}")}
    url = f"http://{HOST}:{port}"
    return Server(f"Hub, instance {number}", argv, url, f"{url}/readyz", env)


def haproxy_binary() -> str | None:
    """HAProxy from the distribution (`/usr/sbin` is not on every user's PATH)."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")


def proxy_environment(port: int, instance_ports: tuple[int, int]) -> dict[str, str]:
    """The addresses `deploy/haproxy.cfg` reads from its environment."""
    return {
        "HUB_PROXY_BIND": f"{HOST}:{port}",
        "HUB_INSTANCE_1": f"{HOST}:{instance_ports[0]}",
        "HUB_INSTANCE_2": f"{HOST}:{instance_ports[1]}",
    }


def proxy_server(haproxy: str, port: int, instance_ports: tuple[int, int]) -> Server:
    url = f"http://{HOST}:{port}"
    argv = [haproxy, "-f", str(HAPROXY_CONFIG), "-db"]
    return Server("HAProxy", argv, url, f"{url}/readyz", proxy_environment(port, instance_ports))


def portal_servers(issuer: str, root: Path, ports: tuple[int, int]) -> list[Server]:
    from portals.kit.serving import DEMO_PORTALS, portal_server

    specs = [
        portal_server(portal, issuer=issuer, instance_root=root, port=port)
        for portal, port in zip(DEMO_PORTALS, ports, strict=True)
    ]
    return [Server(s.name, s.argv, s.url, s.health_url, s.env) for s in specs]


@click.command(
    "cluster",
    help="La démo en topologie de production : deux instances du hub sur PostgreSQL derrière "
    "HAProxy (:5000), et les portails.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=5000, show_default=True)
@click.option(
    "--instance-ports",
    type=(int, int),
    default=(5010, 5011),
    show_default=True,
    help="Ports des deux instances du hub.",
)
@click.option(
    "--portal-ports",
    type=(int, int),
    default=(5001, 5002),
    show_default=True,
    help="Ports de SOLTÉA et de Certificateurs.",
)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True)
@with_appcontext
def command(
    port: int, instance_ports: tuple[int, int], portal_ports: tuple[int, int], workers: int
) -> None:
    haproxy = haproxy_binary()
    if haproxy is None:
        fail_usage(
            "HAProxy est introuvable. Installez-le (Debian, Ubuntu : sudo apt-get install "
            "haproxy), puis relancez make cluster.",
            code=1,
        )
    hub_settings = settings()
    database_url = os.environ.get("HUB_DATABASE_URL") or DEFAULT_DATABASE_URL
    root = hub_settings.instance_path.resolve() / "cluster"
    public_url = f"http://{HOST}:{port}"
    catcher = None if os.environ.get("HUB_SMTP_HOST") else demo_mail_catcher(root)
    shared = {
        "HUB_DATABASE_URL": database_url,
        # one key for all instances, kept in the cluster's folder (generated on first start)
        "HUB_SECRET_KEY": Settings(instance_path=root).with_defaults().secret_key,
        "HUB_PUBLIC_URL": public_url,
        "HUB_DEMO": "1",
        "HUB_TRUSTED_PROXIES": "1",
        "HUB_DRAIN_SECONDS": os.environ.get("HUB_DRAIN_SECONDS", "2"),
    }
    if catcher is not None:
        shared |= {
            "HUB_SMTP_HOST": HOST,
            "HUB_SMTP_PORT": str(catcher.port),
            "HUB_MAIL_CATCHER": str(catcher.folder),
        }
    if not os.environ.get("HUB_LDAP_URL"):
        shared["HUB_SUPPORT_DEMO_DIRECTORY"] = "1"
    instances = [
        instance_server(n, p, shared=shared, root=root, workers=workers)
        for n, p in enumerate(instance_ports, start=1)
    ]
    proxy = proxy_server(haproxy, port, instance_ports)
    servers = [*instances, proxy, *portal_servers(public_url, root, portal_ports)]
    refuse_taken_ports(servers)
    ensure_database(database_url)
    created = prepare_database(database_url, hub_settings)
    name = make_url(database_url).database
    click.echo(f"Base {name} à jour ; données de démonstration : {created} ajout(s).")
    serve_until_stopped(servers, catcher=catcher, mail_url=f"{public_url}/dev/mail")
