"""The database goes away and comes back (issue 16): on a PostgreSQL server of the tests' own,
stopped and started by them, what a person, a portal and a load balancer observe.

- A request caught by a restart waits and is answered once the database is back.
- Past the wait (`Settings.database_wait_seconds`): 503 with `Retry-After` — OAuth's
  `temporarily_unavailable` at the token endpoint, JSON on the API, a French page for people,
  `/readyz` not ready — never a 500 (`TESTING` lets any unexpected exception through to the
  test).
- A request that asked the database to commit a change is never run twice.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.engine import Connection

import migrations
from hub.audit.models import AuditEvent
from hub.clock import utcnow
from hub.config import Settings
from hub.database import make_engine, make_session_factory
from hub.demo import load_demo
from idp import create_app
from tests.conftest import LIGHT_HASHING
from tests.fixtures.postgres_server import PostgresServer
from tests.fixtures.postgres_server import postgres_server as postgres_server
from tests.idp.oidc.conftest import Portal
from tests.idp.signing_in import csrf_token_of, submit_login

UNAVAILABLE = "Le service est momentanément indisponible"


@pytest.fixture(scope="module")
def database(postgres_server: PostgresServer) -> str:
    """The demo on a migrated database of the tests' own server."""
    url = postgres_server.url()
    migrations.upgrade(url)
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        load_demo(session, now=utcnow(), passwords=LIGHT_HASHING)
        session.commit()
    engine.dispose()
    return url


@pytest.fixture
def server(postgres_server: PostgresServer) -> Iterator[PostgresServer]:
    """The server, running again after the test whatever it did to it."""
    yield postgres_server
    if not postgres_server.is_running():
        postgres_server.start()


def hub_app(database: str, tmp_path: Path, *, wait_seconds: float) -> Iterator[Flask]:
    settings = Settings(
        instance_path=tmp_path / "instance",
        database_url=database,
        secret_key="test-secret-key",
        passwords=LIGHT_HASHING,
        database_wait_seconds=wait_seconds,
    )
    app = create_app(settings, TESTING=True)
    yield app
    with app.app_context():
        from idp.extensions import db

        db.engine.dispose()


@pytest.fixture
def patient_app(database: str, tmp_path: Path) -> Iterator[Flask]:
    """A hub that waits long enough for a restart on a busy test machine."""
    yield from hub_app(database, tmp_path, wait_seconds=15.0)


@pytest.fixture
def impatient_app(database: str, tmp_path: Path) -> Iterator[Flask]:
    yield from hub_app(database, tmp_path, wait_seconds=1.0)


@dataclass
class SignedIn:
    portal: Portal
    browser: object


def signed_in(app: Flask, username: str = "alice.martin") -> SignedIn:
    """A person signed in at the hub through its page, and SOLTÉA's back end."""
    browser = app.test_client()
    assert submit_login(browser, username).status_code == 303
    return SignedIn(Portal("soltea", browser, app.test_client()), browser)


def test_a_request_caught_by_a_restart_waits_and_succeeds(patient_app, server):
    person = signed_in(patient_app)
    code, authorization = person.portal.code()
    assert patient_app.test_client().get("/readyz").status_code == 200  # pooled connections

    server.stop()
    restarted = server.start_later(2.0)
    response = person.portal.exchange(code, authorization.verifier)
    restarted.join()

    assert response.status_code == 200, response.text
    assert response.get_json()["token_type"].lower() == "bearer"
    assert "id_token" in response.get_json()


def test_a_form_sent_during_a_restart_is_read_again_when_the_database_is_back(patient_app, server):
    browser = patient_app.test_client()
    page = browser.get("/login")
    form = {
        "csrf_token": csrf_token_of(page.text),
        "username": "alice.martin",
        "password": "Demo-Password-2026!",
    }

    server.stop()
    restarted = server.start_later(2.0)
    response = browser.post("/login", data=form)
    restarted.join()

    assert response.status_code == 303, response.text
    assert browser.get("/").status_code == 200


def test_past_the_wait_every_caller_is_told_to_come_back_in_its_own_form(impatient_app, server):
    person = signed_in(impatient_app)
    code, authorization = person.portal.code()
    tokens = person.portal.sign_in()
    client = impatient_app.test_client()
    assert client.get("/readyz").status_code == 200

    server.stop()

    token = person.portal.exchange(code, authorization.verifier)
    assert token.status_code == 503
    assert token.headers["Retry-After"] == "5"
    assert token.get_json()["error"] == "temporarily_unavailable"
    assert token.headers["Cache-Control"] == "no-store"

    userinfo = person.portal.userinfo(tokens["access_token"])
    assert userinfo.status_code == 503
    assert userinfo.get_json()["error"] == "temporarily_unavailable"

    api = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert api.status_code == 503
    assert api.headers["Retry-After"] == "5"
    assert api.get_json()["error"] == "temporarily_unavailable"
    assert api.get_json()["message"].startswith(UNAVAILABLE)

    page, _authorization = person.portal.authorize()
    assert page.status_code == 503
    assert page.headers["Retry-After"] == "5"
    assert page.mimetype == "text/html"
    assert UNAVAILABLE in page.text
    assert "Réessayez dans quelques instants." in page.text

    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["status"] == "not_ready"
    assert ready.get_json()["database"] == "unavailable"
    assert client.get("/healthz").status_code == 200

    server.start()

    assert client.get("/readyz").status_code == 200
    assert person.portal.userinfo(tokens["access_token"]).status_code == 200


class CommitCut:
    """Ends the database connection of the first transaction that wrote, as it asks to commit:
    the COMMIT is lost with the connection, and the request cannot know whether it happened,
    while the database itself stays up."""

    def __init__(self, engine, admin_url: str) -> None:
        self.admin_url = admin_url
        self.cut = threading.Event()
        self._wrote = False
        event.listen(engine, "after_cursor_execute", self._after_execute)
        event.listen(engine, "commit", self._commit)

    def _after_execute(self, _conn, _cursor, statement, _params, _context, _many) -> None:
        # From the statement: the hub's hot-path statements run without an execution context.
        if statement.lstrip()[:6].upper() in {"INSERT", "UPDATE"}:
            self._wrote = True

    def _commit(self, connection: Connection) -> None:
        if not self._wrote or self.cut.is_set():
            return
        self.cut.set()
        pid = connection.connection.dbapi_connection.info.backend_pid
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def test_a_request_that_asked_to_commit_a_change_is_not_run_again(patient_app, server):
    """A failed sign-in writes a throttle count and its audit event. Its COMMIT is cut off; the
    database is up at once, so a replay would succeed — and would count the failure twice if
    the COMMIT had gone through. The request is answered 503 instead, without waiting."""
    browser = patient_app.test_client()
    page = browser.get("/login")
    form = {"csrf_token": csrf_token_of(page.text), "username": "bruno.petit", "password": "no"}
    with patient_app.app_context():
        from idp.extensions import db

        cut = CommitCut(db.engine, server.url("hub", driver="postgresql"))
    failures_before = failures(server)

    response = browser.post("/login", data=form)

    assert cut.cut.is_set()
    assert response.status_code == 503
    assert UNAVAILABLE in response.text
    assert failures(server) == failures_before  # the cut COMMIT did not happen, nor a replay
    again = browser.post("/login", data=form)  # the person sends it again: counted once
    assert again.status_code == 200
    assert failures(server) == failures_before + 1


def failures(server: PostgresServer) -> int:
    engine = make_engine(server.url())
    try:
        with make_session_factory(engine)() as session:
            count = select(func.count()).where(AuditEvent.action == "session.sign_in_failed")
            return session.scalar(count.select_from(AuditEvent)) or 0
    finally:
        engine.dispose()
