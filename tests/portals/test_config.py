"""A portal runs from environment variables with its own prefix; the defaults are the demo's
(DESIGN.md §4), so `make run` needs no set-up; the secret key is generated once and kept."""

from __future__ import annotations

import stat

import pytest

from portals.certificateurs import IDENTITY as CERTIFICATEURS
from portals.kit.config import PortalConfig
from portals.soltea import IDENTITY as SOLTEA


def test_defaults_are_the_demo_values(tmp_path):
    config = PortalConfig.from_env(SOLTEA, environ={}, instance_path=tmp_path)

    assert config.issuer == "http://127.0.0.1:5000"
    assert config.client_id == "soltea"
    assert config.client_secret == "soltea-dev-secret"
    assert config.base_url == "http://127.0.0.1:5001"
    assert config.redirect_uri == "http://127.0.0.1:5001/auth/callback"
    assert config.post_logout_redirect_uri == "http://127.0.0.1:5001/"
    assert config.database_url == f"sqlite:///{tmp_path / 'soltea.sqlite3'}"
    assert config.claims_max_age == 60
    assert config.cookie_secure is False


def test_each_portal_reads_its_own_prefix(tmp_path):
    environ = {
        "CERTIFICATEURS_ISSUER": "https://hub.example/",
        "CERTIFICATEURS_CLIENT_ID": "cert-prod",
        "CERTIFICATEURS_CLIENT_SECRET": "s3cret",
        "CERTIFICATEURS_BASE_URL": "https://certificateurs.example",
        "CERTIFICATEURS_DATABASE_URL": "postgresql+psycopg://db.example/cert",
        "CERTIFICATEURS_SECRET_KEY": "k" * 40,
        "CERTIFICATEURS_CLAIMS_MAX_AGE": "30",
        "SOLTEA_ISSUER": "https://wrong.example",
    }

    config = PortalConfig.from_env(CERTIFICATEURS, environ=environ, instance_path=tmp_path)

    assert config.issuer == "https://hub.example"
    assert (config.client_id, config.client_secret) == ("cert-prod", "s3cret")
    assert config.base_url == "https://certificateurs.example"
    assert config.database_url == "postgresql+psycopg://db.example/cert"
    assert config.secret_key == "k" * 40
    assert config.claims_max_age == 30
    assert config.cookie_secure is True  # https base URL
    assert config.cookie_name == "certificateurs_session"
    assert not (tmp_path / "secret_key").exists()


def test_cookie_secure_can_be_forced_off_behind_a_tls_proxy(tmp_path):
    environ = {"SOLTEA_BASE_URL": "https://soltea.example", "SOLTEA_COOKIE_SECURE": "false"}

    config = PortalConfig.from_env(SOLTEA, environ=environ, instance_path=tmp_path)

    assert config.cookie_secure is False


def test_secret_key_is_generated_once_kept_private_and_reused(tmp_path):
    first = PortalConfig.from_env(SOLTEA, environ={"SOLTEA_INSTANCE_PATH": str(tmp_path)})
    second = PortalConfig.from_env(
        SOLTEA, environ={"SOLTEA_SECRET_KEY": ""}, instance_path=tmp_path
    )

    key_file = tmp_path / "secret_key"
    assert len(first.secret_key) >= 40
    assert second.secret_key == first.secret_key == key_file.read_text()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no temporary file left


def test_unknown_override_is_refused(tmp_path):
    with pytest.raises(TypeError, match="unknown portal settings: colour"):
        PortalConfig.from_env(SOLTEA, environ={}, instance_path=tmp_path, colour="blue")


def test_portals_have_distinct_cookie_names(tmp_path):
    names = {
        PortalConfig.from_env(identity, environ={}, instance_path=tmp_path).cookie_name
        for identity in (SOLTEA, CERTIFICATEURS)
    }

    assert names == {"soltea_session", "certificateurs_session"}
