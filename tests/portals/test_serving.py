"""What `hub run` needs to start a portal: the gunicorn argv and environment from
`portals.kit.serving`, and a health URL that answers once the portal serves. Started for real."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import requests

from portals.kit.serving import DEMO_PORTALS, demo_portal_servers, portal_server
from tests.fixtures.ports import free_port


def test_demo_portals_are_soltea_on_5001_and_certificateurs_on_5002(tmp_path):
    servers = demo_portal_servers(issuer="http://127.0.0.1:5000", instance_root=tmp_path)

    assert [(s.name, s.url, s.health_url) for s in servers] == [
        ("SOLTÉA", "http://127.0.0.1:5001", "http://127.0.0.1:5001/healthz"),
        ("Certificateurs", "http://127.0.0.1:5002", "http://127.0.0.1:5002/healthz"),
    ]
    soltea = servers[0]
    assert soltea.argv[1:5] == ("-m", "gunicorn", "--bind", "127.0.0.1:5001")
    assert soltea.argv[-1] == "portals.soltea:create_app()"
    assert soltea.env == {
        "SOLTEA_ISSUER": "http://127.0.0.1:5000",
        "SOLTEA_BASE_URL": "http://127.0.0.1:5001",
        "SOLTEA_INSTANCE_PATH": str((tmp_path / "soltea").resolve()),
    }


def test_a_portal_started_from_its_spec_answers_its_health_url(tmp_path):
    server = portal_server(
        DEMO_PORTALS[1], issuer="http://127.0.0.1:9", instance_root=tmp_path, port=free_port()
    )
    process = subprocess.Popen(
        server.argv,
        env=os.environ | server.env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        health = None
        for _ in range(100):
            try:
                health = requests.get(server.health_url, timeout=(1, 30))  # slow first answer: fine
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert health is not None, "the portal never answered"
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "portal": "certificateurs", "database": "ok"}
        assert (tmp_path / "certificateurs" / "certificateurs.sqlite3").exists()
        assert (tmp_path / "certificateurs" / "secret_key").exists()
    finally:
        process.terminate()
        process.wait(10)
