"""`hub keys rotate|list`: the signing keys behind the JWKS.

Rotation makes new keys sign at once and keeps the old ones published for a grace period, so
that every token they signed still verifies until it expires; web workers pick the new keys up
within `idp.oidc.signing.RELOAD_SECONDS`.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import click
from flask.cli import AppGroup
from sqlalchemy import select

from hub.clock import paris_datetime, utcnow
from hub.oidc import keys
from hub.oidc.logout import LOGOUT_TOKEN_LIFETIME
from hub.oidc.models import SigningKey
from idp.cli.output import fail_usage, render_table
from idp.cli.session import settings, transaction
from idp.extensions import db
from idp.oidc.signing import RELOAD_SECONDS, key_ring

command = AppGroup("keys", help="Clés de signature des jetons (JWKS) : rotation, liste.")

LIST_HEADER = ("kid", "alg", "créée le", "statut", "publiée jusqu'au")
NONE = "—"


@command.command(
    "rotate", help="Crée de nouvelles clés de signature ; les anciennes restent publiées."
)
@click.option(
    "--grace-hours",
    type=click.FloatRange(min=0, min_open=True),
    help="Heures pendant lesquelles les anciennes clés restent publiées "
    "(par défaut HUB_KEY_GRACE_HOURS, 24).",
)
def rotate(grace_hours: float | None) -> None:
    """The grace period must outlast every token signed with the old keys (ID tokens, logout
    tokens): a portal verifying one after its key left the JWKS would refuse it."""
    hours = grace_hours if grace_hours is not None else settings().oidc.key_grace_hours
    shortest = _shortest_grace()
    if timedelta(hours=hours) < shortest:
        minutes = math.ceil(shortest.total_seconds() / 60)
        fail_usage(
            f"Le délai de grâce doit couvrir la durée de vie des jetons déjà signés : "
            f"au moins {minutes} minutes."
        )
    now = utcnow()
    with transaction("keys-rotate") as (session, actor):
        retiring = keys.active_keys(session)
        created = [
            (key.alg, key.kid)
            for key in keys.rotate(session, by=actor, now=now, grace=timedelta(hours=hours))
        ]
    key_ring.reload()
    for alg, kid in created:
        click.echo(f"Nouvelle clé {alg} : {kid}")
    if retiring:
        until = paris_datetime(now + timedelta(hours=hours))
        click.echo(f"Les clés précédentes restent publiées jusqu'au {until} (heure de Paris).")


def _shortest_grace() -> timedelta:
    """Web workers sign with the old keys until they reload (`RELOAD_SECONDS`), and what they
    sign lives as long as an access token (ID tokens) or a logout token."""
    lifetime = max(timedelta(seconds=settings().oidc.access_token_seconds), LOGOUT_TOKEN_LIFETIME)
    return timedelta(seconds=RELOAD_SECONDS) + lifetime


def _status(key: SigningKey, now: datetime) -> tuple[str, str]:
    if key.retired_at is None:
        return "active", NONE
    until = paris_datetime(key.unpublish_after) if key.unpublish_after else NONE
    published = key.unpublish_after is None or key.unpublish_after > now
    return ("retirée" if published else "retirée, dépubliée"), until


@command.command("list", help="Liste les clés de signature, la plus récente en haut.")
def list_keys() -> None:
    now = utcnow()
    try:
        signing_keys = db.session.scalars(select(SigningKey).order_by(SigningKey.id.desc())).all()
        rows = [
            [key.kid, key.alg, paris_datetime(key.created_at), *_status(key, now)]
            for key in signing_keys
        ]
    finally:
        db.session.close()
    if not rows:
        click.echo("Aucune clé : le hub les crée à sa première signature, ou `hub keys rotate`.")
        return
    click.echo(render_table(LIST_HEADER, rows))
