"""`hub purge [--dry-run]`: deletes the rows whose life is over (`hub.purge`), by hand or from a
cron; `--dry-run` shows an operator what would go."""

from __future__ import annotations

import uuid

import click
from flask.cli import with_appcontext

from hub.actors import System
from hub.audit.services import audit_context
from hub.clock import utcnow
from hub.database import make_session_factory
from hub.purge import BATCH, PurgeReport, purge
from idp.cli.output import render_table
from idp.extensions import db

LABELS = {
    "tokens": "jetons d'accès et de rafraîchissement",
    "authorization_codes": "codes d'autorisation",
    "browser_sessions": "sessions de connexion (SSO)",
    "support_sessions": "sessions de la console support",
    "registrations": "inscriptions",
    "email_changes": "changements d'adresse e-mail",
    "invitations": "invitations expirées ou annulées",
    "throttles": "compteurs d'échecs de connexion",
    "reminder_markers": "traces des rappels d'expiration",
    "logout_deliveries": "déconnexions des portails (back-channel)",
    "sent_mail": "courriels envoyés",
    "failed_mail": "courriels en échec",
}


def summary(report: PurgeReport) -> str:
    if report.dry_run:
        return (
            f"Simulation (--dry-run) : {report.total} ligne(s) seraient supprimée(s) ; "
            "rien n'a été supprimé."
        )
    if not report.total:
        return "Rien à purger."
    return f"{report.total} ligne(s) supprimée(s) ; le journal d'audit est conservé."


@click.command(
    "purge",
    help="Supprime ce qui a fait son temps : codes, jetons et sessions expirés, inscriptions et "
    "changements d'adresse périmés, compteurs d'échecs, traces de rappels, vieux courriels. "
    "Le journal d'audit n'est jamais purgé.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Compter ce qui serait supprimé, sans rien supprimer.",
)
@click.option(
    "--batch",
    type=click.IntRange(min=1),
    default=BATCH,
    show_default=True,
    help="Lignes supprimées par transaction.",
)
@with_appcontext
def command(dry_run: bool, batch: int) -> None:
    """Daily upkeep: the hot tables stay the size of what is alive."""
    with audit_context(request_id=f"cli-{uuid.uuid4().hex[:12]}"):
        report = purge(
            make_session_factory(db.engine),
            now=utcnow(),
            batch=batch,
            dry_run=dry_run,
            by=System("cli:purge"),
        )
    header = ("données", "à supprimer" if dry_run else "supprimées")
    click.echo(render_table(header, [[LABELS[k], str(n)] for k, n in report.counts.items()]))
    click.echo(summary(report))
