"""`hub check`: says, before a production start, what the configuration lacks (`hub.config_checks`)
— and `hub run` prints the same findings when it refuses to start."""

from __future__ import annotations

import os
from collections.abc import Sequence

import click
from flask.cli import with_appcontext

import migrations
from hub.config_checks import Finding, Severity, check_configuration, is_blocking
from idp.cli.session import settings

MARKS = {Severity.OK: "✔", Severity.WARNING: "⚠", Severity.BLOCKING: "✖"}


def findings() -> list[Finding]:
    """The findings for the app's settings and the environment they came from."""
    return check_configuration(
        settings(), environ=os.environ, migration_heads=migrations.script_heads()
    )


def show(found: Sequence[Finding], *, problems_only: bool = False, err: bool = False) -> None:
    for finding in found:
        if problems_only and finding.severity is Severity.OK:
            continue
        click.echo(f"{MARKS[finding.severity]} {finding.message}", err=err)


def summary(found: Sequence[Finding]) -> str:
    blocking = sum(finding.severity is Severity.BLOCKING for finding in found)
    warnings = sum(finding.severity is Severity.WARNING for finding in found)
    if blocking:
        return (
            f"{blocking} problème(s) bloquant(s) et {warnings} avertissement(s) : corrigez les "
            "problèmes bloquants (✖) avant de démarrer le hub en production."
        )
    if warnings:
        return f"Aucun problème bloquant ; {warnings} avertissement(s) à examiner (⚠)."
    return "Configuration prête pour la production."


@click.command(
    "check",
    help="Vérifie la configuration de production (https, clé secrète, cookies, PostgreSQL, "
    "SMTP, proxys…) et dit quoi corriger ; code de sortie 1 si un problème bloque le démarrage.",
)
@with_appcontext
def command() -> None:
    """Run before a production start (`hub run` runs the same checks and refuses to start)."""
    found = findings()
    show(found)
    click.echo(summary(found))
    if is_blocking(found):
        raise click.exceptions.Exit(1)
