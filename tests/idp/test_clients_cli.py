"""`hub clients add|list|remove`: registering a portal as an OpenID Connect client from the
terminal; the secret is shown once and kept only as a digest."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from hub.audit.models import AuditEvent
from hub.oidc.clients import find_client, secret_matches
from hub.oidc.models import OidcClient
from idp.cli import cli

SECRET_LINE = re.compile(r"^Secret du client \(affiché une seule fois\) : (\S+)$", re.MULTILINE)
CALLBACK = "http://127.0.0.1:5003/auth/callback"


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


@pytest.fixture
def hub(app, demo):
    runner = app.test_cli_runner()
    return lambda *args, input=None: runner.invoke(cli, list(args), input=input)


def client_named(session, client_id: str) -> OidcClient | None:
    session.rollback()
    return find_client(session, client_id)


def rows_of(output: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in output.strip().splitlines()[2:]]


# --- add -----------------------------------------------------------------------------------------


def test_add_prints_a_secret_once_that_authenticates_the_client(hub, session):
    result = hub(
        "clients", "add", "soltea-recette", "--portal", "soltea", "--redirect-uri", CALLBACK
    )

    assert result.exit_code == 0, result.output
    assert "Client « soltea-recette » enregistré pour le portail SOLTÉA." in result.output
    secret = SECRET_LINE.search(result.output)[1]
    client = client_named(session, "soltea-recette")
    assert secret_matches(client, secret)
    assert secret not in repr(
        session.execute(select(OidcClient.__table__).filter_by(client_id="soltea-recette")).one()
    )
    assert (client.redirect_uris, client.portal.code) == ([CALLBACK], "soltea")
    assert client.token_endpoint_auth_method == "client_secret_basic"
    assert client.id_token_signed_response_alg == "RS256"
    assert secret not in hub("clients", "list").output


def test_add_with_every_option(hub, session):
    result = hub(
        "clients",
        "add",
        "certif-recette",
        "--portal",
        "certificateurs",
        "--redirect-uri",
        "https://recette.certif.example/auth/callback",
        "--redirect-uri",
        "https://recette.certif.example/auth/callback2",
        "--post-logout-redirect-uri",
        "https://recette.certif.example/",
        "--backchannel-logout-uri",
        "https://recette.certif.example/auth/backchannel-logout",
        "--auth-method",
        "client_secret_post",
        "--alg",
        "ES256",
        "--name",
        "Certificateurs (recette)",
    )

    assert result.exit_code == 0, result.output
    client = client_named(session, "certif-recette")
    assert client.redirect_uris == [
        "https://recette.certif.example/auth/callback",
        "https://recette.certif.example/auth/callback2",
    ]
    assert client.post_logout_redirect_uris == ["https://recette.certif.example/"]
    assert client.backchannel_logout_uri == "https://recette.certif.example/auth/backchannel-logout"
    assert client.token_endpoint_auth_method == "client_secret_post"
    assert client.id_token_signed_response_alg == "ES256"
    assert client.name == "Certificateurs (recette)"


def test_add_reads_a_given_secret_on_stdin_and_does_not_print_it(hub, session):
    secret = "s" * 40

    result = hub(
        "clients",
        "add",
        "soltea-2",
        "--portal",
        "soltea",
        "--redirect-uri",
        CALLBACK,
        "--secret-stdin",
        input=secret + "\n",
    )

    assert result.exit_code == 0, result.output
    assert secret not in result.output
    assert "Secret du client" not in result.output
    assert secret_matches(client_named(session, "soltea-2"), secret)


def test_a_short_secret_on_stdin_is_refused(hub, session):
    result = hub(
        "clients",
        "add",
        "soltea-2",
        "--portal",
        "soltea",
        "--redirect-uri",
        CALLBACK,
        "--secret-stdin",
        input="court\n",
    )

    assert result.exit_code == 2
    assert "au moins 32 caractères" in result.stderr
    assert client_named(session, "soltea-2") is None


def test_an_unknown_portal_is_bad_usage(hub, session):
    result = hub("clients", "add", "x", "--portal", "nulle-part", "--redirect-uri", CALLBACK)

    assert result.exit_code == 2
    assert result.stderr == (
        "Erreur : Portail inconnu : « nulle-part » (portails : certificateurs, soltea).\n"
    )
    assert client_named(session, "x") is None


@pytest.mark.parametrize(
    ("option", "uri", "message"),
    [
        ("--redirect-uri", "http://portail.example/cb", "doit utiliser https"),
        ("--redirect-uri", "https://portail.example/cb#frag", "ne doit pas contenir de fragment"),
        ("--post-logout-redirect-uri", "/relative", "n'est pas une adresse absolue"),
        ("--backchannel-logout-uri", "ftp://portail.example/bc", "n'est pas une adresse absolue"),
    ],
)
def test_an_invalid_uri_is_bad_usage_and_registers_nothing(hub, session, option, uri, message):
    arguments = ["clients", "add", "x", "--portal", "soltea"]
    if option != "--redirect-uri":
        arguments += ["--redirect-uri", CALLBACK]

    result = hub(*arguments, option, uri)

    assert result.exit_code == 2
    assert result.stderr.startswith("Erreur : ")
    assert message in result.stderr
    assert client_named(session, "x") is None


def test_an_unknown_auth_method_is_refused_by_click(hub):
    result = hub(
        "clients", "add", "x", "--portal", "soltea", "--redirect-uri", CALLBACK, "--alg", "HS256"
    )

    assert result.exit_code == 2


def test_an_existing_client_id_is_refused(hub):
    result = hub("clients", "add", "soltea", "--portal", "soltea", "--redirect-uri", CALLBACK)

    assert result.exit_code == 1
    assert result.stderr == "Erreur : Le client « soltea » existe déjà.\n"


def test_add_is_audited_with_the_command(hub, session):
    hub("clients", "add", "soltea-2", "--portal", "soltea", "--redirect-uri", CALLBACK)

    session.rollback()
    event = session.scalar(
        select(AuditEvent).filter_by(action="client.register", target="soltea-2")
    )
    assert (event.actor, event.portal) == ("cli:clients-add", "soltea")


# --- list ----------------------------------------------------------------------------------------


def test_list_shows_the_clients_never_their_secrets(hub):
    result = hub("clients", "list")

    assert result.exit_code == 0
    assert rows_of(result.output) == [
        [
            "certificateurs",
            "certificateurs",
            "http://127.0.0.1:5002/auth/callback",
            "client_secret_basic",
            "RS256",
            "http://127.0.0.1:5002/auth/backchannel-logout",
        ],
        [
            "soltea",
            "soltea",
            "http://127.0.0.1:5001/auth/callback",
            "client_secret_basic",
            "RS256",
            "http://127.0.0.1:5001/auth/backchannel-logout",
        ],
    ]
    assert "dev-secret" not in result.output  # the demo secrets (DESIGN.md §4)


def test_list_without_clients(app, session_factory):
    result = app.test_cli_runner().invoke(cli, ["clients", "list"])

    assert result.output == "Aucun client enregistré.\n"


# --- remove --------------------------------------------------------------------------------------


def test_remove_with_yes(hub, session):
    result = hub("clients", "remove", "soltea", "--yes")

    assert result.exit_code == 0, result.output
    assert result.output == "Client « soltea » retiré.\n"
    assert client_named(session, "soltea") is None
    event = session.scalar(select(AuditEvent).filter_by(action="client.remove"))
    assert (event.actor, event.target) == ("cli:clients-remove", "soltea")


def test_remove_asks_first(hub, session):
    declined = hub("clients", "remove", "soltea", input="n\n")
    still_there = client_named(session, "soltea") is not None
    accepted = hub("clients", "remove", "soltea", input="o\n")

    assert declined.exit_code == 1
    assert "Rien n'a été retiré." in declined.output
    assert still_there
    assert accepted.exit_code == 0
    assert client_named(session, "soltea") is None


def test_remove_an_unknown_client_is_bad_usage(hub):
    result = hub("clients", "remove", "inconnu", "--yes")

    assert result.exit_code == 2
    assert result.stderr == "Erreur : Client inconnu : « inconnu ».\n"
