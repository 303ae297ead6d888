"""`hub cluster` (`make cluster`), end to end (issue 16): two hub instances on PostgreSQL behind
the repository's HAProxy file, both portals signing in through the proxy; a person's single
sign-on across both portals and the single logout, every hub URL being the proxy's.

The browser connects from 127.0.0.2 (still the loopback, to the proxy on 127.0.0.1) so that the
browser's address differs from the proxy's: the hub must record the browser's, as told by
HAProxy's X-Forwarded-For (HUB_TRUSTED_PROXIES=1), and ignore what the browser itself claims.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
from requests.adapters import HTTPAdapter
from sqlalchemy import select

import migrations
from hub.clock import utcnow
from hub.database import make_engine, make_session_factory
from hub.demo import load_demo
from hub.oidc.models import BrowserSession
from hub.users.models import User
from tests.conftest import LIGHT_HASHING
from tests.e2e.browser import Browser, asked_for_password, text
from tests.e2e.servers import register_portal_client
from tests.fixtures.hub_run import HUB, light_hashing_env, survivors
from tests.fixtures.ports import free_port

READY_LINE = "Certificateurs prêt"  # the cluster's last server; its instances print their own lines
BROWSER_ADDRESS = "127.0.0.2"


class FromAddress(HTTPAdapter):
    """Connections from another loopback address than the proxy's own."""

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (BROWSER_ADDRESS, 0)
        super().init_poolmanager(*args, **kwargs)


class Cluster:
    def __init__(self, database: str, tmp_path: Path) -> None:
        self.proxy, self.soltea_port, self.certificateurs_port = (
            free_port(),
            free_port(),
            free_port(),
        )
        self.instance_ports = (free_port(), free_port())
        self.database = database
        self.log = tmp_path / "cluster.log"
        self.tmp_path = tmp_path
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.proxy}"

    @property
    def soltea(self) -> str:
        return f"http://127.0.0.1:{self.soltea_port}"

    @property
    def certificateurs(self) -> str:
        return f"http://127.0.0.1:{self.certificateurs_port}"

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def prepare(self) -> dict[str, str]:
        """The demo, and the portals' clients registered for their ports here (the demo's are
        for :5001/:5002, which parallel test runs cannot share)."""
        migrations.upgrade(self.database)
        engine = make_engine(self.database)
        env: dict[str, str] = {}
        with make_session_factory(engine).begin() as session:
            load_demo(session, now=utcnow(), passwords=LIGHT_HASHING)
            for code, url in (("soltea", self.soltea), ("certificateurs", self.certificateurs)):
                client_id, secret = register_portal_client(session, code, url)
                env |= {
                    f"{code.upper()}_CLIENT_ID": client_id,
                    f"{code.upper()}_CLIENT_SECRET": secret,
                }
        engine.dispose()
        return env

    def start(self) -> None:
        env = os.environ | light_hashing_env() | self.prepare() | {
            "HUB_DATABASE_URL": self.database,
            "HUB_INSTANCE_PATH": str(self.tmp_path / "instance"),
            # The logout page waits this long for the portals' answers (2 s by default): eight
            # servers share the machine's two cores with the rest of the suite here.
            "HUB_LOGOUT_WAIT_SECONDS": "15",
        }  # fmt: skip
        argv = [
            str(HUB), "cluster",
            "--port", str(self.proxy),
            "--instance-ports", *map(str, self.instance_ports),
            "--portal-ports", str(self.soltea_port), str(self.certificateurs_port),
            # two workers per instance, as by default: the one answering /logout waits for the
            # portals, which fetch the hub's keys through the proxy meanwhile
            "--workers", "2",
        ]  # fmt: skip
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while READY_LINE not in self.output:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("hub cluster never became ready:\n" + self.output)
            time.sleep(0.2)

    def stop(self) -> tuple[int | None, list[psutil.Process]]:
        """Ctrl-C; the exit code and whatever outlived it."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode, []
        descendants = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = None
        return code, survivors(descendants)


@pytest.fixture
def cluster(cluster_database, tmp_path) -> Iterator[Cluster]:
    running = Cluster(cluster_database, tmp_path)
    try:
        running.start()
        yield running
    finally:
        running.stop()


def test_single_sign_on_and_single_logout_through_haproxy_and_two_instances(cluster):
    browser = Browser()
    browser.session.mount("http://", FromAddress())
    browser.session.headers["X-Forwarded-For"] = "203.0.113.7"  # a browser's own claim

    on_soltea = browser.sign_in(cluster.soltea, "alice.martin")
    on_certificateurs = browser.sign_in(cluster.certificateurs)

    assert "Bienvenue sur SOLTÉA, Alice Martin" in text(on_soltea)
    assert "Bienvenue sur Certificateurs, Alice Martin" in text(on_certificateurs)
    assert not asked_for_password(on_certificateurs)
    visited = {urlsplit(r.url).port for r in (*on_soltea.history, *on_certificateurs.history)}
    assert visited == {cluster.proxy, cluster.soltea_port, cluster.certificateurs_port}
    assert _sign_in_addresses(cluster.database) == [BROWSER_ADDRESS]

    after_logout = browser.log_out(cluster.soltea)

    assert "Vous êtes déconnecté." in text(after_logout)
    assert "Me connecter" in text(browser.get(f"{cluster.certificateurs}/"))
    assert asked_for_password(browser.sign_in(cluster.certificateurs))


def test_the_cluster_stops_whole_on_ctrl_c(cluster):
    for port in cluster.instance_ports:
        assert browser_ready(f"http://127.0.0.1:{port}")
    assert browser_ready(cluster.issuer)

    code, left = cluster.stop()

    assert code == 0, cluster.output
    assert left == []
    assert "Arrêté." in cluster.output


def browser_ready(base: str) -> bool:
    return Browser().get(f"{base}/readyz").status_code == 200


def _sign_in_addresses(database: str) -> list[str | None]:
    engine = make_engine(database)
    try:
        with make_session_factory(engine)() as session:
            return list(
                session.scalars(
                    select(BrowserSession.ip_address)
                    .join(BrowserSession.user)
                    .where(User.username == "alice.martin")
                )
            )
    finally:
        engine.dispose()
