"""`hub audit`: reading the audit log from a terminal, or feeding it to a log shipper."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from time import sleep
from typing import Any

import click
from flask.cli import AppGroup

from hub.audit.models import AuditEvent
from hub.audit.queries import AuditFollower
from hub.clock import paris_date, to_paris
from hub.structures.queries import structure_id_for
from idp.cli.output import column_widths, fail_usage, format_row, header_lines
from idp.extensions import db

command = AppGroup("audit", help="Journal d'audit : consulter et suivre les événements.")

TAIL_HEADER = (
    "date/heure",
    "acteur",
    "action",
    "structure",
    "portail",
    "cible",
    "changements",
    "requête",
)
NONE = "—"


def _value(value: Any) -> str:
    """A snapshot value as a person reads it: timestamps as Paris dates, lists comma-joined."""
    if value is None or value == []:
        return NONE
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        return paris_date(moment) if moment.tzinfo is not None else value
    return str(value)


def summarise_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """« expires_at: 01/05/2027 → 01/11/2028 » for each key whose value changed."""
    before, after = before or {}, after or {}
    keys = [*before, *(key for key in after if key not in before)]
    return "; ".join(
        f"{key}: {_value(before.get(key))} → {_value(after.get(key))}"
        for key in keys
        if before.get(key) != after.get(key)
    )


def _portal(event: AuditEvent) -> str:
    if event.via_portal:
        return f"{event.portal or NONE} via {event.via_portal}"
    return event.portal or NONE


def _cells(event: AuditEvent) -> list[str]:
    return [
        to_paris(event.occurred_at).strftime("%d/%m/%Y %H:%M:%S"),
        event.actor,
        event.action,
        NONE if event.structure_id is None else str(event.structure_id),
        _portal(event),
        event.target or NONE,
        summarise_changes(event.before, event.after) or NONE,
        event.request_id or NONE,
    ]


def as_json(event: AuditEvent) -> str:
    """One self-contained line per event: times in UTC ISO 8601, ids and snapshots as stored."""
    return json.dumps(
        {
            "id": event.id,
            "occurred_at": event.occurred_at.isoformat(),
            "actor_id": event.actor_id,
            "actor": event.actor,
            "action": event.action,
            "structure_id": event.structure_id,
            "portal": event.portal,
            "via_portal": event.via_portal,
            "target_type": event.target_type,
            "target_id": event.target_id,
            "target": event.target,
            "before": event.before,
            "after": event.after,
            "request_id": event.request_id,
        },
        ensure_ascii=False,
    )


class _Printer:
    """Prints batches of events; a table keeps its header and widths from batch to batch so
    that followed events line up with the ones above them."""

    def __init__(self, output_format: str) -> None:
        self.as_table = output_format == "table"
        self.widths: list[int] | None = None

    def print(self, events: Sequence[AuditEvent]) -> None:
        if not self.as_table:
            for event in events:
                click.echo(as_json(event))
            return
        if not events:
            return
        rows = [_cells(event) for event in events]
        lines = []
        if self.widths is None:
            self.widths = column_widths(rows, at_least=[len(title) for title in TAIL_HEADER])
            lines += header_lines(TAIL_HEADER, self.widths)
        else:
            self.widths = column_widths(rows, at_least=self.widths)
        lines += [format_row(row, self.widths) for row in rows]
        click.echo("\n".join(lines))


def _follow(follower: AuditFollower, printer: _Printer, *, interval: float) -> None:
    """Polls until Ctrl-C, which ends the command quietly (it is how one stops following)."""
    try:
        while True:
            sleep(interval)
            events = follower.poll(db.session)
            printer.print(events)
            # Ends the read transaction: the next poll must see what was committed since.
            db.session.close()
    except KeyboardInterrupt:
        return


@command.command(
    "tail",
    help="Derniers événements d'audit, le plus récent en bas ; avec --follow, les nouveaux "
    "au fil de l'eau.",
)
@click.option(
    "-n",
    "--lines",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Nombre d'événements récents à afficher.",
)
@click.option("--structure", "matricule", metavar="MATRICULE", help="Seulement cette structure.")
@click.option(
    "--action", "action_prefix", metavar="PRÉFIXE", help="Actions commençant par PRÉFIXE."
)
@click.option(
    "-f", "--follow", is_flag=True, help="Continuer d'afficher les nouveaux événements (Ctrl-C)."
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=2.0,
    show_default=True,
    help="Avec --follow : secondes entre deux lectures.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Tableau lisible, ou un objet JSON par ligne.",
)
def tail(
    lines: int,
    matricule: str | None,
    action_prefix: str | None,
    follow: bool,
    interval: float,
    output_format: str,
) -> None:
    """The latest audit events, newest last; with --follow, new ones as they are written."""
    structure_id = None
    if matricule is not None:
        structure_id = structure_id_for(db.session, matricule)
        if structure_id is None:
            db.session.close()
            fail_usage(f"Structure inconnue : matricule {matricule}.")
    follower = AuditFollower(structure_id=structure_id, action_prefix=action_prefix)
    printer = _Printer(output_format)
    events = follower.start(db.session, limit=lines)
    printer.print(events)
    db.session.close()
    if follow:
        if printer.as_table:
            click.echo("Suivi des nouveaux événements (Ctrl-C pour arrêter)…", err=True)
        _follow(follower, printer, interval=interval)
    elif not events and printer.as_table:
        click.echo("Aucun événement d'audit à afficher.")
