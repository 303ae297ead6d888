"""`hub accounts`: operator reports on accounts (who loses access soon, R3)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import click
from flask.cli import AppGroup

from hub.accounts.models import Role
from hub.accounts.reports import ExpiringAccount, expiring_accounts
from hub.clock import paris_date, utcnow
from hub.errors import UnknownPortal
from idp.cli.output import fail_usage, render_table
from idp.extensions import db

command = AppGroup("accounts", help="Comptes des portails : rapports pour les opérateurs.")

ROLE_LABELS = {Role.ADMIN: "Administrateur", Role.USER: "Utilisateur"}

EXPIRING_HEADER = (
    "portail",
    "matricule",
    "structure",
    "identifiant",
    "nom",
    "prénom",
    "email",
    "rôle",
    "date d'expiration",
    "jours restants",
)


def _cells(account: ExpiringAccount) -> list[str]:
    return [
        account.portal_name,
        account.matricule,
        account.structure_name,
        account.username,
        account.last_name,
        account.first_name,
        account.email,
        ROLE_LABELS[account.role],
        paris_date(account.expires_at),
        str(account.days_left),
    ]


def _csv(rows: Sequence[Sequence[str]]) -> str:
    """`;`-separated with CRLF line ends, the dialect Excel expects in a French locale."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(EXPIRING_HEADER)
    writer.writerows(rows)
    return buffer.getvalue()


def _nothing_expiring(days: int, include_expired: bool) -> str:
    horizon = "le prochain jour" if days == 1 else f"les {days} prochains jours"
    if include_expired:
        return f"Aucun compte expiré ni expirant dans {horizon}."
    return f"Aucun compte n'expire dans {horizon}."


@command.command(
    "expiring", help="Comptes qui expirent bientôt, les plus proches d'abord (tableau ou CSV)."
)
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=30,
    show_default=True,
    help="Fenêtre : comptes qui expirent dans les N prochains jours.",
)
@click.option("--include-expired", is_flag=True, help="Inclure aussi les comptes déjà expirés.")
@click.option(
    "--portal",
    "portal_codes",
    multiple=True,
    metavar="CODE",
    help="Seulement ce portail (code, p. ex. soltea) ; répétable.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv"]),
    default="table",
    show_default=True,
    help="Tableau lisible ou CSV pour un tableur.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Écrire dans ce fichier plutôt que sur la sortie standard.",
)
def expiring(
    days: int,
    include_expired: bool,
    portal_codes: tuple[str, ...],
    output_format: str,
    output: Path | None,
) -> None:
    """Accounts expiring soon, soonest first, so that structures can be told to renew (R3, R4)."""
    try:
        accounts = expiring_accounts(
            db.session,
            now=utcnow(),
            within=timedelta(days=days),
            include_expired=include_expired,
            portal_codes=portal_codes,
        )
    except UnknownPortal as error:
        fail_usage(error.message)
    finally:
        db.session.close()
    rows = [_cells(account) for account in accounts]
    if output_format == "csv":
        # The BOM tells Excel the file is UTF-8; without it accented names come out garbled.
        text = "\ufeff" + _csv(rows)
    elif rows:
        text = render_table(EXPIRING_HEADER, rows) + "\n"
    else:
        text = _nothing_expiring(days, include_expired) + "\n"
    # Bytes, not text: the file is UTF-8 whatever the terminal's locale, CRLFs untouched.
    data = text.encode("utf-8")
    if output is None:
        click.echo(data, nl=False)
        return
    output.write_bytes(data)
    click.echo(f"{len(rows)} compte(s) écrit(s) dans {output}.", err=True)
