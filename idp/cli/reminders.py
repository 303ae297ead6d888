"""`hub reminders send`: the expiry reminders of the day, by hand or from a cron.

`hub run` sends them once a day by itself; the command is for a hub served without `hub run`,
and `--dry-run` shows an operator what the next run would mail.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from hub.clock import paris_date, utcnow
from hub.reminders.reports import Digest, Reminder, ReminderReport
from hub.reminders.services import send_due
from idp.cli.output import render_table
from idp.cli.session import settings, transaction

command = AppGroup("reminders", help="Rappels d'expiration des comptes.")

HEADER = (
    "destinataire",
    "courriel",
    "portail",
    "structure",
    "compte(s)",
    "expire le",
    "jours restants",
)
NONE = "—"


def _reminder_row(reminder: Reminder) -> list[str]:
    return [
        reminder.recipient,
        f"rappel J-{reminder.threshold}",
        reminder.portal,
        f"{reminder.structure} ({reminder.matricule})",
        reminder.username,
        paris_date(reminder.expires_at),
        str(reminder.days_left),
    ]


def _digest_rows(digest: Digest) -> list[list[str]]:
    """One row per structure and portal of the digest: what its link lets the admin renew."""
    return [
        [
            digest.recipient,
            "récapitulatif administrateur",
            f"{section.portal} (via {section.via})" if section.via else section.portal,
            f"{section.structure} ({section.matricule})",
            ", ".join(reminder.username for reminder in section.reminders),
            NONE,
            NONE,
        ]
        for section in digest.sections
    ]


def summary(report: ReminderReport) -> str:
    counts = f"{len(report.reminders)} rappel(s) et {len(report.digests)} récapitulatif(s)"
    if report.dry_run:
        return f"Simulation (--dry-run) : {counts} seraient envoyés ; rien n'a été enregistré."
    return f"{counts} placé(s) dans la file d'envoi des courriels."


@command.command(
    "send",
    help="Envoie les rappels d'expiration dus (J-30, J-7) aux titulaires des comptes et un "
    "récapitulatif à leurs administrateurs ; chaque rappel ne part qu'une fois.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Afficher ce qui serait envoyé, sans rien envoyer ni enregistrer.",
)
def send(dry_run: bool) -> None:
    """R3: tells holders and admins before accounts lapse; the run is idempotent."""
    with transaction("reminders-send") as (session, _actor):
        # Audited as the reminder run itself, whoever starts it; the request id says it was
        # the command line.
        report = send_due(session, now=utcnow(), days=settings().reminders.days, dry_run=dry_run)
    if not report.reminders:
        click.echo("Aucun rappel d'expiration à envoyer.")
        return
    rows = [_reminder_row(reminder) for reminder in report.reminders]
    rows += [row for digest in report.digests for row in _digest_rows(digest)]
    click.echo(render_table(HEADER, rows))
    click.echo(summary(report))
