"""`hub mail`: sending the outbox by hand and seeing what did or did not leave."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from hub.clock import to_paris, utcnow
from hub.database import make_session_factory
from hub.errors import NotFailed, UnknownMessage
from hub.mail.models import MailStatus, OutboxMessage
from hub.mail.outbox import STATUS_LABELS, latest, retry
from hub.mail.sender import SmtpSender, deliver_pending
from idp.cli.output import fail_usage, render_table
from idp.cli.session import settings, transaction
from idp.extensions import db

command = AppGroup("mail", help="Courriels : envoyer la file d'attente, la consulter.")

LIST_HEADER = (
    "id",
    "créé le",
    "destinataire",
    "objet",
    "statut",
    "tentatives",
    "dernière erreur",
)
NONE = "—"
ERROR_WIDTH = 80


@command.command("send", help="Envoie maintenant les courriels en attente dont l'heure est venue.")
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Essayer tous les courriels en attente, sans attendre le délai entre deux essais.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Nombre maximal de courriels traités.",
)
def send(everything: bool, limit: int) -> None:
    """One delivery run, for an operator who fixed the relay and will not wait for the worker."""
    report = deliver_pending(
        make_session_factory(db.engine),
        SmtpSender(settings().smtp),
        batch=limit,
        due_only=not everything,
    )
    click.echo(
        f"{report.sent} message(s) envoyé(s), {report.retried} reporté(s), "
        f"{report.failed} en échec."
    )
    if report.unreachable:
        click.echo(f"Envoi interrompu, serveur SMTP indisponible : {report.unreachable}", err=True)


def _one_line(text: str | None) -> str:
    if not text:
        return NONE
    flat = " ".join(text.split())
    return flat if len(flat) <= ERROR_WIDTH else flat[: ERROR_WIDTH - 1] + "…"


def _cells(message: OutboxMessage) -> list[str]:
    return [
        str(message.id),
        to_paris(message.created_at).strftime("%d/%m/%Y %H:%M"),
        message.recipient,
        message.subject,
        STATUS_LABELS[message.status],
        str(message.attempts),
        _one_line(message.last_error),
    ]


@command.command("list", help="Derniers courriels de la file, le plus récent en haut.")
@click.option(
    "--status",
    type=click.Choice([status.value for status in MailStatus]),
    help="Seulement les courriels de ce statut (pending, sent, failed).",
)
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Nombre de courriels à afficher.",
)
def list_messages(status: str | None, lines: int) -> None:
    """What left, what waits and why, without opening the database."""
    chosen = MailStatus(status) if status else None
    try:
        rows = [_cells(message) for message in latest(db.session, status=chosen, limit=lines)]
    finally:
        db.session.close()
    if not rows:
        suffix = f" {STATUS_LABELS[chosen]}" if chosen else ""
        click.echo(f"Aucun courriel{suffix}.")
        return
    click.echo(render_table(LIST_HEADER, rows))


@command.command("retry", help="Remet en attente un courriel en échec, avec de nouveaux essais.")
@click.argument("message_id", metavar="ID", type=int)
def retry_message(message_id: int) -> None:
    """After the cause of a failure is fixed (address corrected, relay fixed)."""
    try:
        with transaction("mail-retry") as (session, actor):
            message = retry(session, message_id, by=actor, now=utcnow())
            recipient = message.recipient
    except UnknownMessage as error:
        fail_usage(error.message)
    except NotFailed as error:
        fail_usage(error.message, code=1)
    click.echo(f"Courriel {message_id} à {recipient} remis en attente.")
