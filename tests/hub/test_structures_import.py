"""Importing the structures and contracts referential (the operators' CSV export)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from hub.actors import System
from hub.audit.models import AuditEvent
from hub.errors import ImportFileInvalid
from hub.structures.importer import BATCH_SIZE, ImportReport, import_structures, known_portal_codes
from hub.structures.models import Contract, Structure, StructureKind
from hub.structures.referential_file import parse
from tests.factories import make_portal, make_structure

EXAMPLE = Path(__file__).parents[2] / "examples" / "structures.csv"
ACTOR = System("cli:structures-import")
HEADER = "matricule;siret;nom;type;contrat_soltea;contrat_certificateurs"
# Valid SIRETs (Luhn key); BAD_SIRET is VALID_SIRET with its last digit changed.
VALID_SIRET = "41234567800012"
OTHER_SIRET = "52345678900016"
BAD_SIRET = "41234567800013"


@pytest.fixture
def portals(session):
    soltea = make_portal(session, "soltea")
    certificateurs = make_portal(session, "certificateurs")
    session.commit()
    return soltea, certificateurs


@pytest.fixture
def run(session, now, portals):
    """Imports `content` (text is encoded as UTF-8) as the command line does: committed when
    applied, rolled back otherwise."""

    def run(content: str | bytes, *, all_or_nothing: bool = False, progress=None) -> ImportReport:
        data = content.encode("utf-8") if isinstance(content, str) else content
        rows = parse(data, portal_codes=known_portal_codes(session))
        report = import_structures(
            session,
            rows,
            actor=ACTOR,
            now=now,
            all_or_nothing=all_or_nothing,
            progress=progress,
        )
        if report.applied:
            session.commit()
        else:
            session.rollback()
        return report

    return run


def csv_text(*lines: str, header: str = HEADER) -> str:
    return "\n".join([header, *lines]) + "\n"


def stored(session) -> dict[str, tuple]:
    """What the database holds now: matricule → (siret, name, kind, {portal: contract})."""
    session.expire_all()
    return {
        structure.matricule: (
            structure.siret,
            structure.name,
            structure.kind,
            {contract.portal.code: contract.number for contract in structure.contracts},
        )
        for structure in session.scalars(select(Structure))
    }


def audit_events(session, action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))


def problems(report: ImportReport) -> list[tuple[int, str, str]]:
    return [(p.line, p.field, p.message) for p in report.rejected]


# --- creating, updating, idempotence ----------------------------------------------------------


def test_r12_example_file_creates_structures_and_contracts(session, run):
    report = run(EXAMPLE.read_bytes())

    assert (report.created, report.updated, report.unchanged, report.rejected) == (6, 0, 0, [])
    assert report.applied
    structures = stored(session)
    assert structures["100001"] == (
        "10000010800017",
        "Organisme Alpha Formation",
        StructureKind.TRAINING_ORGANISATION,
        {"soltea": "SOL-100001", "certificateurs": "CER-100001"},
    )
    assert structures["100003"][2] == StructureKind.DEPOSITOR
    assert structures["100004"][1:] == (
        "École des Métiers d'Art de Lyon",
        StructureKind.TRAINING_ORGANISATION,
        {"soltea": "SOL-100004"},
    )
    assert structures["100005"][2] == StructureKind.CERTIFIER
    assert structures["100006"][1] == "Formations Léa & Noé; Grenoble"


def test_importing_the_same_file_twice_changes_nothing_the_second_time(session, run):
    run(EXAMPLE.read_bytes())
    events = len(audit_events(session))
    before = stored(session)

    second = run(EXAMPLE.read_bytes())

    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 6, [])
    assert stored(session) == before
    assert len(audit_events(session)) == events


def test_changed_name_siret_and_kind_update_the_structure_and_are_audited(session, run):
    run(csv_text(f"100001;{VALID_SIRET};Alpha;organisme_formation;SOL-1;"))

    report = run(csv_text(f"100001;{OTHER_SIRET};Alpha Formation;certificateur;SOL-1;"))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert stored(session)["100001"] == (
        OTHER_SIRET,
        "Alpha Formation",
        StructureKind.CERTIFIER,
        {"soltea": "SOL-1"},
    )
    (event,) = audit_events(session, "structure.update")
    assert event.actor == "cli:structures-import"
    assert event.target == "100001 Alpha Formation"
    assert event.before == {"siret": VALID_SIRET, "name": "Alpha", "kind": "training_organisation"}
    assert event.after == {"siret": OTHER_SIRET, "name": "Alpha Formation", "kind": "certifier"}


def test_contracts_are_added_and_renumbered_and_an_empty_cell_keeps_them(session, run):
    run(csv_text(f"100001;{VALID_SIRET};Alpha;organisme_formation;SOL-1;CER-1"))

    report = run(csv_text(f"100001;{VALID_SIRET};Alpha;organisme_formation;;CER-2"))

    assert report.updated == 1
    assert stored(session)["100001"][3] == {"soltea": "SOL-1", "certificateurs": "CER-2"}
    (event,) = audit_events(session, "structure.update")
    assert event.before == {"contracts.certificateurs": "CER-1"}
    assert event.after == {"contracts.certificateurs": "CER-2"}


def test_a_contract_is_added_to_an_existing_structure(session, run):
    existing = make_structure(session, matricule="100001", name="Alpha")
    existing.siret = VALID_SIRET
    session.commit()

    report = run(csv_text(f"100001;{VALID_SIRET};Alpha;organisme_formation;sol-7;"))

    assert report.updated == 1
    assert stored(session)["100001"][3] == {"soltea": "SOL-7"}
    (event,) = audit_events(session, "structure.update")
    assert (event.before, event.after) == (
        {"contracts.soltea": None},
        {"contracts.soltea": "SOL-7"},
    )


def test_each_created_structure_gets_one_audit_event_with_its_values(session, run):
    run(
        csv_text(
            f"100001;{VALID_SIRET};Alpha;certificateur;;CER-1",
            f"100002;{OTHER_SIRET};Beta;certificateur;;",
        )
    )

    events = audit_events(session)
    assert [(e.action, e.target) for e in events] == [
        ("structure.create", "100001 Alpha"),
        ("structure.create", "100002 Beta"),
    ]
    alpha = session.scalar(select(Structure).filter_by(matricule="100001"))
    assert events[0].structure_id == alpha.id
    assert events[0].request_id is None
    assert events[0].after == {
        "matricule": "100001",
        "siret": VALID_SIRET,
        "name": "Alpha",
        "kind": "certifier",
        "contracts.certificateurs": "CER-1",
    }


# --- file format ------------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"], ids=["no-bom", "bom"])
@pytest.mark.parametrize("delimiter", [";", ","])
@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_utf8_with_or_without_bom_either_separator_either_line_end(
    session, run, bom, delimiter, newline
):
    lines = [
        ["Matricule ", " SIRET", "Nom", "TYPE", "Contrat_Soltea"],
        ["100001", VALID_SIRET, "Établissement Dupré, Lyon", "Organisme de formation", "SOL-1"],
    ]
    text = newline.join(csv_line(cells, delimiter) for cells in lines) + newline

    report = run(bom + text.encode("utf-8"))

    assert (report.created, report.rejected) == (1, [])
    assert stored(session)["100001"] == (
        VALID_SIRET,
        "Établissement Dupré, Lyon",
        StructureKind.TRAINING_ORGANISATION,
        {"soltea": "SOL-1"},
    )


def csv_line(cells: list[str], delimiter: str) -> str:
    return delimiter.join(f'"{cell}"' if delimiter in cell else cell for cell in cells)


@pytest.mark.parametrize(
    ("typed", "kind"),
    [
        ("organisme_formation", StructureKind.TRAINING_ORGANISATION),
        ("ORGANISME DE FORMATION", StructureKind.TRAINING_ORGANISATION),
        ("Certificateur", StructureKind.CERTIFIER),
        ("tiers de confiance", StructureKind.DEPOSITOR),
        ("Tiers-de-Confiance", StructureKind.DEPOSITOR),
    ],
)
def test_type_accepts_codes_and_labels_whatever_the_case(session, run, typed, kind):
    report = run(csv_text(f"100001;{VALID_SIRET};Alpha;{typed};;"))

    assert report.rejected == []
    assert stored(session)["100001"][2] == kind


def test_latin1_file_is_refused_with_the_line_of_the_first_bad_byte(session, portals):
    text = csv_text(
        f"100001;{VALID_SIRET};Alpha;certificateur;;", f"100002;{OTHER_SIRET};Bêta;certificateur;;"
    )

    with pytest.raises(ImportFileInvalid) as caught:
        parse(text.encode("latin-1"), portal_codes=["soltea", "certificateurs"])

    assert caught.value.line == 3
    assert caught.value.message == (
        "Le fichier n'est pas encodé en UTF-8 (ligne 3, octet 0xEA). Dans votre tableur, "
        "enregistrez-le au format « CSV UTF-8 » puis recommencez."
    )


def test_missing_columns_are_all_listed(portals):
    with pytest.raises(ImportFileInvalid) as caught:
        parse(b"matricule;nom;contrat_soltea\n100001;Alpha;SOL-1\n", portal_codes=["soltea"])

    assert caught.value.line == 1
    assert caught.value.message.startswith(
        "Colonne(s) obligatoire(s) absente(s) de l'en-tête (ligne 1) : siret, type. "
        "Séparateur détecté : « ; »."
    )


def test_contract_column_of_an_unknown_portal_is_named(portals):
    data = csv_text(
        f"100001;{VALID_SIRET};Alpha;certificateur;;", header=HEADER + ";contrat_soltae"
    )

    with pytest.raises(ImportFileInvalid) as caught:
        parse(data.encode(), portal_codes=["soltea", "certificateurs"])

    assert caught.value.message == (
        "Colonne « contrat_soltae » (ligne 1) : aucun portail n'a le code « soltae ». "
        "Portails existants : certificateurs, soltea."
    )


def test_empty_file_and_repeated_column_are_refused():
    with pytest.raises(ImportFileInvalid, match="Le fichier est vide"):
        parse(b"\xef\xbb\xbf\n", portal_codes=[])
    with pytest.raises(ImportFileInvalid, match="La colonne « nom » apparaît deux fois"):
        parse(b"matricule;siret;nom;type;Nom\n", portal_codes=[])


def test_line_numbers_are_physical_lines_blank_lines_included(session, run):
    text = csv_text(
        "",
        f"100001;{VALID_SIRET};Alpha;certificateur;;",
        ";;;;;",
        "100002;123;Beta;certificateur;;",
    )

    report = run(text)

    assert report.created == 1
    assert [(p.line, p.matricule, p.field) for p in report.rejected] == [(5, "100002", "siret")]


# --- rejected lines ---------------------------------------------------------------------------


def test_every_bad_line_is_reported_with_its_number_and_good_lines_are_imported(session, run):
    long_name = "A" * 201
    report = run(
        csv_text(
            f"100001;{VALID_SIRET};Alpha;organisme_formation;SOL-1;",  # 2: good
            f"100002;{BAD_SIRET};Beta;certificateur;;",  # 3
            f"10O003;{VALID_SIRET};Gamma;certificateur;;",  # 4: letter O
            f"100001;{VALID_SIRET};Alpha bis;organisme_formation;;",  # 5
            f"100005;{VALID_SIRET};Epsilon;organisme_formation;sol-1;",  # 6
            f"100006;{VALID_SIRET};   ;certificateur;;",  # 7
            f"100007;{VALID_SIRET};{long_name};certificateur;;",  # 8
            f"100008;{VALID_SIRET};Theta;université;;",  # 9
            f"100009;{VALID_SIRET};Iota;certificateur;;CER 9",  # 10
            f"100010;{OTHER_SIRET};Kappa;tiers_de_confiance;;CER-10",  # 11: good
        )
    )

    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert report.rejected_lines == 8
    assert problems(report) == [
        (3, "siret", f"Le SIRET « {BAD_SIRET} » est invalide (clé de contrôle incorrecte)."),
        (
            4,
            "matricule",
            "Le matricule « 10O003 » doit être composé uniquement de chiffres (20 au plus).",
        ),
        (5, "matricule", "Matricule 100001 déjà présent ligne 2 du fichier."),
        (
            6,
            "contrat_soltea",
            "Le numéro de contrat SOL-1 (SOLTÉA) est déjà attribué à la structure 100001 "
            "(ligne 2 du fichier).",
        ),
        (7, "nom", "Le nom de la structure est obligatoire."),
        (8, "nom", "Le nom de la structure ne doit pas dépasser 200 caractères."),
        (
            9,
            "type",
            "Le type « université » n'est pas reconnu : indiquez organisme_formation, "
            "certificateur ou tiers_de_confiance.",
        ),
        (
            10,
            "contrat_certificateurs",
            "Le numéro de contrat « CER 9 » n'est pas valide (lettres, chiffres, tirets ; "
            "50 caractères au plus).",
        ),
    ]
    assert sorted(stored(session)) == ["100001", "100010"]
    assert stored(session)["100001"][1] == "Alpha"
    assert len(audit_events(session, "structure.create")) == 2


def test_all_problems_of_one_line_are_reported_together(run):
    report = run(csv_text(f"abc;{BAD_SIRET};;;;"))

    assert report.rejected_lines == 1
    assert [(p.line, p.matricule, p.field) for p in report.rejected] == [
        (2, "abc", "matricule"),
        (2, "abc", "siret"),
        (2, "abc", "nom"),
        (2, "abc", "type"),
    ]


def test_contract_number_held_by_another_structure_in_the_database_is_rejected(
    session, run, portals
):
    soltea, _ = portals
    holder = make_structure(session, matricule="200000", portals=(soltea,))
    taken = holder.contracts[0].number
    session.commit()

    report = run(csv_text(f"100001;{VALID_SIRET};Alpha;organisme_formation;{taken};"))

    assert problems(report) == [
        (
            2,
            "contrat_soltea",
            f"Le numéro de contrat {taken} (SOLTÉA) est déjà attribué à la structure 200000.",
        )
    ]
    assert "100001" not in stored(session)
    assert session.scalar(select(func.count()).select_from(Contract)) == 1


def test_the_same_number_on_two_portals_is_two_contracts(session, run):
    report = run(csv_text(f"100001;{VALID_SIRET};Alpha;organisme_formation;C-1;C-1"))

    assert report.rejected == []
    assert stored(session)["100001"][3] == {"soltea": "C-1", "certificateurs": "C-1"}


def test_an_unclosed_quote_rejects_the_line_and_says_where_it_ends(session, run):
    report = run(
        csv_text(
            f"100001;{VALID_SIRET};Alpha;certificateur;;",
            f'100002;{VALID_SIRET};"Beta;certificateur;;',
            f"100003;{VALID_SIRET};Gamma;certificateur;;",
        )
    )

    assert problems(report) == [
        (3, "ligne", "Guillemet non fermé : cette ligne se poursuit jusqu'à la ligne 4."),
        (
            3,
            "type",
            "Le type de structure est obligatoire : indiquez organisme_formation, certificateur "
            "ou tiers_de_confiance.",
        ),
    ]
    assert sorted(stored(session)) == ["100001"]


def test_an_unquoted_separator_in_a_name_rejects_the_line(session, run):
    header = "matricule,siret,nom,type,contrat_soltea"

    report = run(csv_text(f"100001,{VALID_SIRET},Alpha, Lyon,certificateur,SOL-1", header=header))

    assert [(p.line, p.field) for p in report.rejected] == [(2, "ligne"), (2, "type")]
    assert report.rejected[0].message == (
        "La ligne compte plus de champs que l'en-tête : un séparateur dans un nom doit être "
        "entouré de guillemets."
    )
    assert stored(session) == {}


# --- all or nothing ---------------------------------------------------------------------------


def test_all_or_nothing_writes_nothing_when_one_line_is_bad(session, run):
    report = run(
        csv_text(
            f"100001;{VALID_SIRET};Alpha;organisme_formation;SOL-1;",
            f"100002;{BAD_SIRET};Beta;certificateur;;",
            f"100003;{OTHER_SIRET};Gamma;certificateur;;",
        ),
        all_or_nothing=True,
    )

    assert not report.applied
    assert (report.created, report.rejected_lines) == (2, 1)
    assert stored(session) == {}
    assert audit_events(session) == []


def test_all_or_nothing_applies_a_clean_file(session, run):
    report = run(EXAMPLE.read_bytes(), all_or_nothing=True)

    assert report.applied
    assert len(stored(session)) == 6


# --- large files ------------------------------------------------------------------------------


def test_large_file_is_imported_in_batches_with_checks_across_batches(session, run):
    count = 2 * BATCH_SIZE + 100
    lines = [
        f"{300000 + n};{VALID_SIRET};Structure {n};organisme_formation;SOL-{n};"
        for n in range(count)
    ]
    lines.append(f"300001;{VALID_SIRET};Doublon;organisme_formation;;")  # line count + 2
    lines.append(f"399999;{VALID_SIRET};Voleur;organisme_formation;SOL-3;")  # line count + 3
    calls: list[int] = []

    report = run(csv_text(*lines), progress=calls.append)

    assert calls == [BATCH_SIZE, BATCH_SIZE, 102]
    assert report.created == count
    assert [(p.line, p.field) for p in report.rejected] == [
        (count + 2, "matricule"),
        (count + 3, "contrat_soltea"),
    ]
    assert report.rejected[0].message == "Matricule 300001 déjà présent ligne 3 du fichier."
    assert session.scalar(select(func.count()).select_from(Structure)) == count

    again = run(csv_text(*lines[:count]))

    assert (again.created, again.updated, again.unchanged) == (0, 0, count)
