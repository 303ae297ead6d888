"""`hub clients add|list|remove`: the portals' OpenID Connect client registrations.

A client secret is shown once, when it is generated, and only its digest is kept: an operator
who loses it registers the client again. Secrets never appear in `list`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click
from flask.cli import AppGroup
from sqlalchemy import select

from hub.clock import utcnow
from hub.errors import AlreadyExists, InvalidField, NotFound
from hub.oidc.clients import (
    AUTH_METHODS,
    SIGNING_ALGS,
    all_clients,
    find_client,
    register_client,
    remove_client,
)
from hub.oidc.models import OidcClient
from hub.portals.models import Portal
from idp.cli.output import fail_usage, render_table
from idp.cli.session import transaction
from idp.extensions import db

command = AppGroup("clients", help="Clients OpenID Connect (les portails) : ajout, liste, retrait.")

LIST_HEADER = (
    "client_id",
    "portail",
    "adresses de retour",
    "authentification",
    "alg",
    "déconnexion back-channel",
)
NONE = "—"
YES = {"o", "oui", "y", "yes"}
MIN_SECRET_LENGTH = 32  # digests are fast to compute: a given secret must be long to be safe


def _read_secret() -> str:
    """The first line of standard input: a secret never belongs on a command line (shell
    history, process list)."""
    secret = sys.stdin.readline().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        fail_usage(f"Le secret lu doit compter au moins {MIN_SECRET_LENGTH} caractères.")
    return secret


def _portal(code: str) -> Portal:
    portal = db.session.scalar(select(Portal).filter_by(code=code))
    if portal is None:
        known = ", ".join(db.session.scalars(select(Portal.code).order_by(Portal.code))) or NONE
        fail_usage(f"Portail inconnu : « {code} » (portails : {known}).")
    return portal


@command.command("add", help="Enregistre un portail comme client et affiche son secret une fois.")
@click.argument("client_id")
@click.option("--portal", "portal_code", required=True, help="Code du portail (ex. soltea).")
@click.option(
    "--redirect-uri",
    "redirect_uris",
    multiple=True,
    required=True,
    help="Adresse de retour (répétable).",
)
@click.option(
    "--post-logout-redirect-uri",
    "post_logout_redirect_uris",
    multiple=True,
    help="Adresse de retour après déconnexion (répétable).",
)
@click.option("--backchannel-logout-uri", help="Adresse de déconnexion back-channel du portail.")
@click.option(
    "--auth-method", type=click.Choice(AUTH_METHODS), default=AUTH_METHODS[0], show_default=True
)
@click.option("--alg", type=click.Choice(SIGNING_ALGS), default=SIGNING_ALGS[0], show_default=True)
@click.option("--name", help="Nom affiché (par défaut celui du portail).")
@click.option("--secret-stdin", is_flag=True, help="Lire le secret sur l'entrée standard.")
def add(
    client_id: str,
    portal_code: str,
    redirect_uris: Sequence[str],
    post_logout_redirect_uris: Sequence[str],
    backchannel_logout_uri: str | None,
    auth_method: str,
    alg: str,
    name: str | None,
    secret_stdin: bool,
) -> None:
    given = _read_secret() if secret_stdin else None
    try:
        with transaction("clients-add") as (session, actor):
            client, secret = register_client(
                session,
                by=actor,
                now=utcnow(),
                client_id=client_id,
                portal=_portal(portal_code),
                redirect_uris=redirect_uris,
                secret=given,
                name=name,
                post_logout_redirect_uris=post_logout_redirect_uris,
                backchannel_logout_uri=backchannel_logout_uri,
                token_endpoint_auth_method=auth_method,
                id_token_signed_response_alg=alg,
            )
            portal_name = client.portal.name
    except InvalidField as error:
        fail_usage(error.message)
    except AlreadyExists as error:
        fail_usage(error.message, code=1)
    click.echo(f"Client « {client_id.strip()} » enregistré pour le portail {portal_name}.")
    if given is None:
        click.echo(f"Secret du client (affiché une seule fois) : {secret}")


def _cells(client: OidcClient) -> list[str]:
    return [
        client.client_id,
        client.portal.code,
        ", ".join(client.redirect_uris),
        client.token_endpoint_auth_method,
        client.id_token_signed_response_alg,
        client.backchannel_logout_uri or NONE,
    ]


@command.command("list", help="Liste les clients enregistrés (jamais leurs secrets).")
def list_clients() -> None:
    try:
        rows = [_cells(client) for client in all_clients(db.session)]
    finally:
        db.session.close()
    if not rows:
        click.echo("Aucun client enregistré.")
        return
    click.echo(render_table(LIST_HEADER, rows))


def _confirmed(question: str) -> bool:
    """A French yes/no question (Click's own expects « y »); anything but yes is no."""
    answer = click.prompt(f"{question} [o/N]", default="n", show_default=False)
    return answer.strip().lower() in YES


@command.command("remove", help="Retire un client : ses jetons et codes sont supprimés avec lui.")
@click.argument("client_id")
@click.option("--yes", is_flag=True, help="Ne pas demander de confirmation.")
def remove(client_id: str, yes: bool) -> None:
    try:
        known = find_client(db.session, client_id) is not None
    finally:
        db.session.close()
    if not known:
        fail_usage(f"Client inconnu : « {client_id} ».")
    if not yes and not _confirmed(
        f"Retirer le client « {client_id} » ? Le portail ne pourra plus connecter personne."
    ):
        click.echo("Rien n'a été retiré.")
        raise click.exceptions.Exit(1)
    try:
        with transaction("clients-remove") as (session, actor):
            remove_client(session, client_id, by=actor, now=utcnow())
    except NotFound as error:
        fail_usage(error.message)
    click.echo(f"Client « {client_id} » retiré.")
