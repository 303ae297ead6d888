"""`hub demo`: the demonstration data set of DESIGN.md §4, safe to load again."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from hub.clock import utcnow
from hub.demo import DEMO_PASSWORD, PEOPLE, load_demo
from idp.cli.session import settings, transaction


def load(*, reset: bool = False) -> list[str]:
    """Loads the demo data in one transaction; returns what was created (empty: all there)."""
    with transaction("demo") as (session, _actor):
        report = load_demo(session, now=utcnow(), passwords=settings().passwords, reset=reset)
    return report.created


@click.command("demo", help="Charge les données de démonstration (DESIGN.md §4) ; relançable.")
@click.option(
    "--reset",
    is_flag=True,
    help="Supprime d'abord les personnes et structures de démonstration pour repartir de zéro.",
)
@with_appcontext
def command(reset: bool) -> None:
    created = load(reset=reset)
    if created:
        click.echo(f"Données de démonstration chargées ({len(created)} élément(s) créé(s)) :")
        for item in created:
            click.echo(f"  - {item}")
    else:
        click.echo("Données de démonstration déjà présentes : rien à faire.")
    people = ", ".join(person.username for person in PEOPLE)
    click.echo(f"Identifiants : {people} ; mot de passe : {DEMO_PASSWORD}")
