"""`hub structures import`, as an operator runs it on the spreadsheet export of the referential."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.audit.models import AuditEvent
from hub.structures.models import Structure
from idp.cli import cli
from tests.factories import make_portal

EXAMPLE = Path(__file__).parents[2] / "examples" / "structures.csv"
HEADER = "matricule;siret;nom;type;contrat_soltea;contrat_certificateurs"
GOOD = "100001;41234567800012;Organisme Alpha Formation;organisme_formation;SOL-1;"
OTHER_GOOD = "100002;52345678900016;Certif Bêta;certificateur;;CER-2"
BAD_SIRET = "100007;41234567800013;Structure Sept;certificateur;;"
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def portals(session):
    make_portal(session, "soltea")
    make_portal(session, "certificateurs")
    session.commit()


@pytest.fixture
def hub(app, portals):
    """Runs `hub ARGS…` and returns Click's result."""
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(cli, list(args))

    return run


@pytest.fixture
def write_csv(tmp_path):
    def write(*lines: str, name: str = "structures.csv", encoding: str = "utf-8") -> str:
        path = tmp_path / name
        path.write_bytes(("\n".join([HEADER, *lines]) + "\n").encode(encoding))
        return str(path)

    return write


def structure_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Structure))


def audit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent))


def test_r12_import_of_the_example_file_exits_0_with_a_summary(hub, session):
    result = hub("structures", "import", str(EXAMPLE))

    assert result.exit_code == 0, result.output
    assert result.stdout == (
        "6 structure(s) créée(s), 0 mise(s) à jour, 0 inchangée(s), 0 ligne(s) rejetée(s).\n"
    )
    assert "Import des structures" in result.stderr
    assert structure_count(session) == 6
    assert audit_count(session) == 6
    actors = set(session.scalars(select(AuditEvent.actor)))
    assert actors == {"cli:structures-import"}
    assert all(r.startswith("cli-") for r in session.scalars(select(AuditEvent.request_id)))


def test_running_the_same_file_again_reports_everything_unchanged(hub, session):
    hub("structures", "import", str(EXAMPLE))

    result = hub("structures", "import", str(EXAMPLE))

    assert result.exit_code == 0
    assert result.stdout.startswith("0 structure(s) créée(s), 0 mise(s) à jour, 6 inchangée(s)")
    assert audit_count(session) == 6


def test_rejected_lines_are_listed_with_line_and_matricule_and_exit_1(hub, session, write_csv):
    path = write_csv(GOOD, OTHER_GOOD, "", BAD_SIRET)

    result = hub("structures", "import", path)

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "ligne 5 (matricule 100007) : Le SIRET « 41234567800013 » est invalide "
        "(clé de contrôle incorrecte).",
        "2 structure(s) créée(s), 0 mise(s) à jour, 0 inchangée(s), 1 ligne(s) rejetée(s).",
    ]
    assert structure_count(session) == 2


def test_a_line_without_matricule_is_reported_by_its_number_only(hub, write_csv):
    result = hub(
        "structures", "import", write_csv(";41234567800012;Sans matricule;certificateur;;")
    )

    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == "ligne 2 : Le matricule est obligatoire."


def test_all_or_nothing_writes_nothing_and_says_so(hub, session, write_csv):
    path = write_csv(GOOD, BAD_SIRET, OTHER_GOOD)

    result = hub("structures", "import", "--all-or-nothing", path)

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ligne 3 (matricule 100007) : Le SIRET")
    assert lines[-1] == "Aucune modification enregistrée (option --all-or-nothing)."
    assert structure_count(session) == 0
    assert audit_count(session) == 0


def test_all_or_nothing_imports_a_clean_file(hub, session, write_csv):
    result = hub("structures", "import", "--all-or-nothing", write_csv(GOOD, OTHER_GOOD))

    assert result.exit_code == 0
    assert structure_count(session) == 2


def test_dry_run_reports_without_writing(hub, session, write_csv):
    path = write_csv(GOOD, OTHER_GOOD)

    result = hub("structures", "import", "--dry-run", path)

    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "2 structure(s) créée(s), 0 mise(s) à jour, 0 inchangée(s), 0 ligne(s) rejetée(s).",
        "Simulation (--dry-run) : aucune modification enregistrée.",
    ]
    assert structure_count(session) == 0
    assert audit_count(session) == 0


def test_dry_run_with_rejected_lines_exits_1(hub, session, write_csv):
    result = hub("structures", "import", "--dry-run", write_csv(GOOD, BAD_SIRET))

    assert result.exit_code == 1
    assert structure_count(session) == 0


def test_report_option_writes_rejected_lines_as_csv(hub, write_csv, tmp_path):
    path = write_csv(GOOD, BAD_SIRET, GOOD.replace("SOL-1", "SOL-9"))
    report = tmp_path / "rejets.csv"

    result = hub("structures", "import", path, "--report", str(report))

    assert result.exit_code == 1
    assert f"Rapport des lignes rejetées écrit dans {report}." in result.stderr
    content = report.read_bytes()
    assert content.startswith(BOM)
    rows = list(csv.reader(io.StringIO(content[3:].decode("utf-8"), newline=""), delimiter=";"))
    assert rows == [
        ["ligne", "matricule", "champ", "message"],
        [
            "3",
            "100007",
            "siret",
            "Le SIRET « 41234567800013 » est invalide (clé de contrôle incorrecte).",
        ],
        ["4", "100001", "matricule", "Matricule 100001 déjà présent ligne 2 du fichier."],
    ]


def test_report_of_a_clean_import_holds_only_the_header(hub, write_csv, tmp_path):
    report = tmp_path / "rejets.csv"

    result = hub("structures", "import", write_csv(GOOD), "--report", str(report))

    assert result.exit_code == 0
    assert report.read_bytes() == BOM + b"ligne;matricule;champ;message\r\n"


def test_latin1_file_exits_2_with_the_line_and_writes_nothing(hub, session, write_csv):
    path = write_csv(GOOD, OTHER_GOOD, encoding="latin-1")

    result = hub("structures", "import", path)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Erreur : Le fichier n'est pas encodé en UTF-8 (ligne 3, octet 0xEA). Dans votre "
        "tableur, enregistrez-le au format « CSV UTF-8 » puis recommencez.\n"
    )
    assert structure_count(session) == 0


def test_missing_columns_exit_2(hub, session, tmp_path):
    path = tmp_path / "structures.csv"
    path.write_text("matricule,nom\n100001,Alpha\n", encoding="utf-8")

    result = hub("structures", "import", str(path))

    assert result.exit_code == 2
    assert result.stderr.startswith(
        "Erreur : Colonne(s) obligatoire(s) absente(s) de l'en-tête (ligne 1) : siret, type."
    )
    assert structure_count(session) == 0


def test_unknown_portal_column_exits_2(hub, tmp_path):
    path = tmp_path / "structures.csv"
    path.write_text("matricule;siret;nom;type;contrat_inconnu\n", encoding="utf-8")

    result = hub("structures", "import", str(path))

    assert result.exit_code == 2
    assert "Colonne « contrat_inconnu » (ligne 1) : aucun portail n'a le code" in result.stderr


def test_missing_file_exits_2_in_french(hub, tmp_path):
    missing = tmp_path / "absent.csv"

    result = hub("structures", "import", str(missing))

    assert result.exit_code == 2
    assert result.stderr == f"Erreur : Fichier introuvable : {missing}.\n"


def test_a_directory_is_not_a_file(hub, tmp_path):
    result = hub("structures", "import", str(tmp_path))

    assert result.exit_code == 2
    assert result.stderr == f"Erreur : {tmp_path} est un dossier, pas un fichier CSV.\n"
