"""`hub structures`: the structures and contracts referential, as operators maintain it.

`hub structures import FILE.csv` loads the spreadsheet export described in
`hub.structures.referential_file` (an example ships as `examples/structures.csv`). Exit status: 0
when every line was imported, 1 when lines were rejected (or `--all-or-nothing` aborted), 2 when
the file itself cannot be used (unreadable, not UTF-8, header incomplete).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Sequence
from pathlib import Path

import click
from flask.cli import AppGroup

from hub.clock import utcnow
from hub.errors import ImportFileInvalid
from hub.structures.importer import ImportReport, import_structures, known_portal_codes
from hub.structures.referential_file import RejectedLine, parse
from idp.cli.output import fail_usage
from idp.cli.session import transaction

command = AppGroup("structures", help="Structures et contrats : import du référentiel.")

REJECTED_HEADER = ("ligne", "matricule", "champ", "message")


def read_file(path: Path) -> bytes:
    """The file's bytes, or exit 2 with a French reason (Click's own checks speak English)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        fail_usage(f"Fichier introuvable : {path}.")
    except IsADirectoryError:
        fail_usage(f"{path} est un dossier, pas un fichier CSV.")
    except PermissionError:
        fail_usage(f"Lecture du fichier {path} refusée (droits insuffisants).")
    except OSError:
        fail_usage(f"Impossible de lire le fichier {path}.")


def summary(report: ImportReport) -> str:
    return (
        f"{report.created} structure(s) créée(s), {report.updated} mise(s) à jour, "
        f"{report.unchanged} inchangée(s), {report.rejected_lines} ligne(s) rejetée(s)."
    )


def describe_rejection(problem: RejectedLine) -> str:
    """« ligne 5 (matricule 100007) : … », the form an operator can find in the spreadsheet."""
    where = f"ligne {problem.line}"
    if problem.matricule:
        where += f" (matricule {problem.matricule})"
    return f"{where} : {problem.message}"


def rejected_csv(rejected: Sequence[RejectedLine]) -> bytes:
    """`;`-separated, CRLF, with a BOM: opened in Excel as it would open our own exports."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(REJECTED_HEADER)
    writer.writerows((p.line, p.matricule, p.field, p.message) for p in rejected)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def write_report(path: Path, rejected: Sequence[RejectedLine]) -> None:
    try:
        path.write_bytes(rejected_csv(rejected))
    except OSError:
        fail_usage(f"Impossible d'écrire le rapport des rejets dans {path}.")
    click.echo(f"Rapport des lignes rejetées écrit dans {path}.", err=True)


def run_import(data: bytes, *, all_or_nothing: bool, dry_run: bool) -> ImportReport:
    """One transaction for the whole file: kept only when it is neither a simulation nor an
    all-or-nothing import that met a rejected line."""
    with transaction("structures-import") as (session, actor):
        rows = parse(data, portal_codes=known_portal_codes(session))
        bar = click.progressbar(length=len(rows), label="Import des structures", file=sys.stderr)
        with bar:
            report = import_structures(
                session,
                rows,
                actor=actor,
                now=utcnow(),
                all_or_nothing=all_or_nothing,
                progress=bar.update,
            )
        if dry_run or not report.applied:
            session.rollback()
    return report


@command.command("import", help="Importe le référentiel des structures et contrats (CSV UTF-8).")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--all-or-nothing",
    is_flag=True,
    help="N'enregistrer aucune ligne si une seule est rejetée.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Vérifier le fichier et afficher le bilan sans rien enregistrer.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Écrire les lignes rejetées dans ce fichier CSV.",
)
def import_command(
    file: Path, all_or_nothing: bool, dry_run: bool, report_path: Path | None
) -> None:
    """Loads the referential so that registration finds every matricule and contract (R12)."""
    data = read_file(file)
    try:
        report = run_import(data, all_or_nothing=all_or_nothing, dry_run=dry_run)
    except ImportFileInvalid as error:
        fail_usage(error.message)
    for problem in report.rejected:
        click.echo(describe_rejection(problem))
    click.echo(summary(report))
    if report_path is not None:
        write_report(report_path, report.rejected)
    if dry_run:
        click.echo("Simulation (--dry-run) : aucune modification enregistrée.")
    elif not report.applied:
        click.echo("Aucune modification enregistrée (option --all-or-nothing).")
    if report.rejected:
        raise click.exceptions.Exit(1)
