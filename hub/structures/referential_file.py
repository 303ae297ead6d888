"""The structures and contracts referential as operators export it: reading and checking the CSV
file, without the database.

The operators keep the referential in a spreadsheet and export it as CSV; this module turns that
file into checked lines, which `hub.structures.importer` writes as structures and contracts so that
registration (R12) finds every matricule and contract number it is asked for. The format, as
documented to operators (see `examples/structures.csv`):

- UTF-8, with or without a byte order mark (Excel's « CSV UTF-8 » writes one); any other encoding
  is refused with the line of the first byte that is not UTF-8, rather than guessed.
- `;` or `,` between fields, whichever the header line uses more; `"` quotes a field.
- Line 1 is the header. Required columns: `matricule`, `siret`, `nom`, `type`. One optional
  column per portal, `contrat_<portal code>` (e.g. `contrat_soltea`), holds the structure's
  contract number there. Column names are case-insensitive and trimmed; other columns are ignored.
- `type` is `organisme_formation`, `certificateur` or `tiers_de_confiance`, or the label shown in
  the interface (« Organisme de formation »…), whatever the case and accents.

Every line keeps its number in the file (the header is line 1), so that a rejection points the
operator at the spreadsheet row to fix.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.errors import ImportFileInvalid, InvalidField
from hub.structures.models import KIND_LABELS, StructureKind
from hub.validation import (
    clean_contract_number,
    clean_matricule,
    clean_siret,
    clean_structure_name,
    search_key,
)

REQUIRED_COLUMNS = ("matricule", "siret", "nom", "type")
CONTRACT_PREFIX = "contrat_"
KIND_CODES = {
    StructureKind.TRAINING_ORGANISATION: "organisme_formation",
    StructureKind.CERTIFIER: "certificateur",
    StructureKind.DEPOSITOR: "tiers_de_confiance",
}
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class SourceRow:
    """One record as typed in the file. `line` is where it starts; `last_line` differs only when
    a quote left open swallowed the following lines."""

    line: int
    last_line: int
    matricule: str
    siret: str
    name: str
    kind: str
    contracts: Mapping[str, str]
    extra_cells: int = 0


@dataclass(frozen=True)
class StructureLine:
    """A line that passed every check of its own: cleaned values, non-empty contracts only."""

    line: int
    matricule: str
    siret: str
    name: str
    kind: StructureKind
    contracts: Mapping[str, str]


@dataclass(frozen=True)
class RejectedLine:
    line: int
    matricule: str
    field: str
    message: str


# --- reading the file -------------------------------------------------------------------------


def parse(data: bytes, *, portal_codes: Collection[str]) -> list[SourceRow]:
    """The file's records, read whole before anything is written: an encoding or header problem
    must stop the import before its first line, not halfway through."""
    text = _decode(data)
    if not text.strip():
        raise ImportFileInvalid(
            "Le fichier est vide : la ligne 1 doit être l'en-tête (matricule;siret;nom;type…).",
            line=1,
        )
    header_line = text.splitlines()[0]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, [])
        columns = _columns(header, delimiter)
        contracts = _contract_columns(columns, portal_codes)
        return list(_records(reader, columns, contracts, width=len(header)))
    except csv.Error as error:
        line = reader.line_num
        message = f"Ligne {line} illisible : le format CSV n'y est pas respecté."
        raise ImportFileInvalid(message, line=line) from error


def _decode(data: bytes) -> str:
    try:
        return data.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start + (len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0)
        line = data.count(b"\n", 0, offset) + 1
        raise ImportFileInvalid(
            f"Le fichier n'est pas encodé en UTF-8 (ligne {line}, octet "
            f"0x{data[offset]:02X}). Dans votre tableur, enregistrez-le au format « CSV UTF-8 » "
            "puis recommencez.",
            line=line,
        ) from error


def _columns(header: Sequence[str], delimiter: str) -> dict[str, int]:
    """Column name → position; the header is checked whole so one message lists every gap."""
    positions: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = cell.strip().lower()
        if name in positions:
            raise ImportFileInvalid(
                f"La colonne « {name} » apparaît deux fois dans l'en-tête (ligne 1).", line=1
            )
        if name:
            positions[name] = index
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        raise ImportFileInvalid(
            f"Colonne(s) obligatoire(s) absente(s) de l'en-tête (ligne 1) : {', '.join(missing)}. "
            f"Séparateur détecté : « {delimiter} ». En-tête attendu : matricule;siret;nom;type, "
            "puis une colonne contrat_<code du portail> par portail.",
            line=1,
        )
    return positions


def _contract_columns(
    positions: Mapping[str, int], portal_codes: Collection[str]
) -> dict[str, int]:
    """Portal code → position of its contract column. A misspelt portal stops the import: read
    as « no contracts », it would silently leave that portal's column out."""
    known = {code.lower(): code for code in portal_codes}
    contract_columns = {}
    for name, index in positions.items():
        if not name.startswith(CONTRACT_PREFIX):
            continue
        code = name.removeprefix(CONTRACT_PREFIX)
        if code not in known:
            existing = ", ".join(sorted(known.values())) or "aucun"
            raise ImportFileInvalid(
                f"Colonne « {name} » (ligne 1) : aucun portail n'a le code « {code} ». "
                f"Portails existants : {existing}.",
                line=1,
            )
        contract_columns[known[code]] = index
    return contract_columns


def _records(
    reader: Any, columns: Mapping[str, int], contract_columns: Mapping[str, int], *, width: int
) -> Iterator[SourceRow]:
    """Records with the physical line they start on, which csv's `line_num` gives only at
    their end; blank records are skipped but still counted as lines."""
    last_line = reader.line_num
    for cells in reader:
        first_line, last_line = last_line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        yield SourceRow(
            line=first_line,
            last_line=last_line,
            matricule=_cell(cells, columns["matricule"]),
            siret=_cell(cells, columns["siret"]),
            name=_cell(cells, columns["nom"]),
            kind=_cell(cells, columns["type"]),
            contracts={code: _cell(cells, index) for code, index in contract_columns.items()},
            extra_cells=sum(1 for extra in cells[width:] if extra.strip()),
        )


def _cell(cells: Sequence[str], index: int) -> str:
    """A short record (trailing empty cells dropped by the spreadsheet) reads as empty cells."""
    return cells[index] if index < len(cells) else ""


# --- checking a line on its own ---------------------------------------------------------------


def _kind_key(value: str) -> str:
    return re.sub(r"[\s_'’-]+", "_", search_key(value.strip()))


_KINDS = {_kind_key(code): kind for kind, code in KIND_CODES.items()} | {
    _kind_key(label): kind for kind, label in KIND_LABELS.items()
}


def clean_kind(value: str | None, *, field: str = "type") -> StructureKind:
    """Operators type the labels they read in the interface as often as the codes: both work."""
    choices = "organisme_formation, certificateur ou tiers_de_confiance"
    if not (value or "").strip():
        raise InvalidField(field, f"Le type de structure est obligatoire : indiquez {choices}.")
    kind = _KINDS.get(_kind_key(value))
    if kind is None:
        raise InvalidField(
            field,
            f"Le type « {value.strip()} » n'est pas reconnu : indiquez {choices}.",
        )
    return kind


def _layout_problems(row: SourceRow) -> list[InvalidField]:
    """Problems of the record's shape, which usually mean a field slipped into its neighbour."""
    problems = []
    if row.last_line != row.line:
        problems.append(
            InvalidField(
                "ligne",
                f"Guillemet non fermé : cette ligne se poursuit jusqu'à la ligne {row.last_line}.",
            )
        )
    if row.extra_cells:
        problems.append(
            InvalidField(
                "ligne",
                "La ligne compte plus de champs que l'en-tête : un séparateur dans un nom doit "
                "être entouré de guillemets.",
            )
        )
    return problems


def validate(row: SourceRow) -> StructureLine | list[RejectedLine]:
    """The cleaned line, or every problem found on it: fixing a file is quicker when each line
    is reported once with all that is wrong."""
    problems = _layout_problems(row)
    values: dict[str, Any] = {}
    cleaners: list[tuple[str, Callable[..., Any], str, str]] = [
        ("matricule", clean_matricule, "matricule", row.matricule),
        ("siret", clean_siret, "siret", row.siret),
        ("name", clean_structure_name, "nom", row.name),
        ("kind", clean_kind, "type", row.kind),
    ]
    contracts: dict[str, str] = {}
    for code, number in row.contracts.items():
        if number.strip():
            cleaners.append((code, clean_contract_number, CONTRACT_PREFIX + code, number))
    for key, clean, column, raw in cleaners:
        try:
            value = clean(raw, field=column)
        except InvalidField as problem:
            problems.append(problem)
            continue
        (contracts if column.startswith(CONTRACT_PREFIX) else values)[key] = value
    if problems:
        return [_rejection(row.line, row.matricule, problem) for problem in problems]
    return StructureLine(line=row.line, contracts=contracts, **values)


def _rejection(line: int, matricule: str, problem: InvalidField) -> RejectedLine:
    return RejectedLine(line, matricule.strip(), problem.field, problem.message)
