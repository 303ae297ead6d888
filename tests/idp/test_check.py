"""`hub check` as an operator runs it before a production start, with the configuration in the
environment; and `hub run`, which refuses to start on what `hub check` says blocks."""

from __future__ import annotations

import os
import secrets

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

import migrations
from idp import create_app
from launcher.cli import cli
from tests.fixtures.hub_run import light_hashing_env, start_hub_run
from tests.fixtures.ports import closed_port, port_is_closed
from tests.fixtures.smtp import smtp_server as smtp_server  # the fixture, used by name


@pytest.fixture
def production(postgres_schema_url, smtp_server, tmp_path) -> dict[str, str]:
    """A complete production configuration: https, a strong key, PostgreSQL migrated to head,
    a mail server that answers, one proxy in front."""
    migrations.upgrade(postgres_schema_url)
    return {
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_PUBLIC_URL": "https://hub.example.fr",
        "HUB_SECRET_KEY": secrets.token_urlsafe(48),
        "HUB_DATABASE_URL": postgres_schema_url,
        "HUB_SMTP_HOST": "127.0.0.1",
        "HUB_SMTP_PORT": str(smtp_server.port),
        "HUB_TRUSTED_PROXIES": "1",
    }


def hub_check(env: dict[str, str | None]):
    """`hub check` with exactly `env` as the hub's configuration (no other HUB_* variable)."""
    cleared: dict[str, str | None] = {name: None for name in os.environ if name.startswith("HUB_")}
    result = CliRunner().invoke(
        cli,
        ["check"],
        env=cleared | env,
        obj=ScriptInfo(create_app=create_app, set_debug_flag=False),
    )
    return result, result.output.splitlines()


def marked(lines: list[str], mark: str) -> list[str]:
    return [line for line in lines if line.startswith(f"{mark} ")]


def test_a_complete_production_configuration_passes(production):
    result, lines = hub_check(production)

    assert result.exit_code == 0, result.output
    assert marked(lines, "✖") == []
    assert marked(lines, "⚠") == []
    assert "✔ URL publique (émetteur OpenID Connect) en https : https://hub.example.fr" in lines
    assert "✔ Schéma de la base à jour (migrations appliquées)." in lines
    assert f"✔ Serveur SMTP joignable (127.0.0.1:{production['HUB_SMTP_PORT']})." in lines
    assert lines[-1] == "Configuration prête pour la production."


BLOCKING = {
    "http": ({"HUB_PUBLIC_URL": "http://hub.example.fr"}, "n'est pas en https"),
    "generated key": ({"HUB_SECRET_KEY": None}, "Définissez HUB_SECRET_KEY"),
    "weak key": ({"HUB_SECRET_KEY": "motdepasse" * 4}, "HUB_SECRET_KEY est trop faible"),
    "short key": ({"HUB_SECRET_KEY": "k7#pQ2!xZ9"}, "HUB_SECRET_KEY est trop faible"),
    "cookies": ({"HUB_COOKIE_SECURE": "0"}, "Les cookies ne sont pas marqués Secure"),
    "sqlite": ({"HUB_DATABASE_URL": "sqlite:///{tmp}/hub.sqlite3"}, "SQLite ne sert qu'une"),
    "database down": (
        {"HUB_DATABASE_URL": "postgresql+psycopg://127.0.0.1:{closed}/hub"},
        "Base de données injoignable",
    ),
    "smtp down": ({"HUB_SMTP_PORT": "{closed}"}, "Serveur SMTP injoignable (127.0.0.1:"),
    "proxies": ({"HUB_TRUSTED_PROXIES": "-1"}, "HUB_TRUSTED_PROXIES=-1 : un nombre de relais"),
    "ldap": (
        {"HUB_LDAP_URL": "ldap://annuaire.example", "HUB_LDAP_USER_BASE": "ou=people,dc=ex"},
        "Annuaire LDAP incomplet : définissez HUB_LDAP_OPERATOR_GROUP, HUB_LDAP_READER_GROUP.",
    ),
}


@pytest.mark.parametrize(("change", "sentence"), BLOCKING.values(), ids=BLOCKING.keys())
def test_each_blocking_problem_is_named_in_french_with_status_1(
    production, tmp_path, change, sentence
):
    closed = str(closed_port())
    env = production | {
        name: value.format(tmp=tmp_path, closed=closed) if value else value
        for name, value in change.items()
    }

    result, lines = hub_check(env)

    assert result.exit_code == 1, result.output
    assert any(sentence in line for line in marked(lines, "✖")), result.output
    assert lines[-1].endswith(
        "corrigez les problèmes bloquants (✖) avant de démarrer le hub en production."
    )


def test_demo_mode_turns_blocking_problems_into_warnings(tmp_path):
    """A developer machine: plain http, a generated key, SQLite, no mail server."""
    env = {
        "HUB_DEMO": "1",
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_SMTP_PORT": str(closed_port()),
    }

    result, lines = hub_check(env)

    assert result.exit_code == 0, result.output
    assert marked(lines, "✖") == []
    warnings = "\n".join(marked(lines, "⚠"))
    for sentence in ("n'est pas en https", "Définissez HUB_SECRET_KEY", "SQLite ne sert qu'une",
                     "Serveur SMTP injoignable", "Mode démonstration (HUB_DEMO)"):  # fmt: skip
        assert sentence in warnings
    assert lines[-1].startswith("Aucun problème bloquant ;")


def test_warnings_do_not_block(production):
    env = production | {
        "HUB_TRUSTED_PROXIES": "0",
        "HUB_METRICS_TOKEN": "court",
        **light_hashing_env(),
    }

    result, lines = hub_check(env)

    assert result.exit_code == 0, result.output
    warnings = "\n".join(marked(lines, "⚠"))
    assert "aucun proxy de confiance (HUB_TRUSTED_PROXIES=0)" in warnings
    assert "Le jeton de /metrics (HUB_METRICS_TOKEN) est court" in warnings
    assert "Hachage des mots de passe trop léger" in warnings
    assert lines[-1] == "Aucun problème bloquant ; 3 avertissement(s) à examiner (⚠)."


def test_hub_run_refuses_a_blocking_configuration_and_starts_nothing(tmp_path):
    """Not in demo mode, on a developer's defaults: `hub run` names what blocks and exits 1
    before migrating or starting anything."""
    run = start_hub_run("--no-portals", "--workers", "1", tmp_path=tmp_path, env={"HUB_DEMO": "0"})
    try:
        code = run.process.wait(60)
    finally:
        run.stop()

    output = run.output
    assert code == 1, output
    assert "✖ L'URL publique http://127.0.0.1:" in output
    assert "✖ La clé secrète est générée dans le dossier d'instance" in output
    assert "rien n'a été démarré" in output
    assert "Base de données à jour." not in output
    assert port_is_closed(run.port)
    assert not (tmp_path / "instance" / "hub.sqlite3").exists()  # not migrated


def test_hub_run_demo_tells_the_hub_it_serves_the_demo(app):
    """`hub run --demo` sets HUB_DEMO=1 for the hub it starts, whatever its own environment."""
    from launcher.run import hub_server

    with app.app_context():
        demo = hub_server("127.0.0.1", 5000, 1, demo=True)
        plain = hub_server("127.0.0.1", 5000, 1)

    assert demo.env["HUB_DEMO"] == "1"
    assert "HUB_DEMO" not in plain.env
