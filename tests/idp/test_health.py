"""`/healthz` (alive) and `/readyz` (may be sent requests), as a load balancer reads them."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import select, text

from hub.oidc.models import SigningKey
from idp import create_app


def test_healthz_says_the_process_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_readyz_on_a_migrated_database_creates_the_first_signing_keys(client, session):
    assert session.scalars(select(SigningKey)).all() == []

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ready",
        "database": "ok",
        "migrations": "ok",
        "signing_key": "ok",
        "draining": False,
    }
    session.rollback()
    assert {key.alg for key in session.scalars(select(SigningKey))} == {"RS256", "ES256"}
    assert client.get("/readyz").status_code == 200
    session.rollback()
    assert len(session.scalars(select(SigningKey)).all()) == 2


def test_readyz_says_draining_while_the_drain_file_exists(settings, session_factory, tmp_path):
    drain_file = tmp_path / "draining"
    app = create_app(replace(settings, drain_file=drain_file), TESTING=True)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200

    drain_file.touch()
    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.get_json()["status"] == "draining"
    assert response.get_json()["draining"] is True
    drain_file.unlink()
    assert client.get("/readyz").status_code == 200


def test_readyz_is_not_ready_on_a_database_behind_the_code(settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    app = create_app(replace(settings, database_url=url), TESTING=True)

    response = app.test_client().get("/readyz")

    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not_ready"
    assert body["database"] == "ok"
    assert body["migrations"] == "pending"
    assert body["signing_key"] == "unknown"
    with app.app_context():
        from idp.extensions import db

        assert db.session.execute(text("SELECT 1")).scalar() == 1
        db.engine.dispose()
