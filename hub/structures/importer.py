"""Importing the structures and contracts referential from a spreadsheet export.

The operators keep the referential in a spreadsheet and export it as CSV; this module turns that
file into structures and contracts, so that registration (R12) finds every matricule and contract
number it is asked for. The format, as documented to operators (see `examples/structures.csv`):

- UTF-8, with or without a byte order mark (Excel's « CSV UTF-8 » writes one); any other encoding
  is refused with the line of the first byte that is not UTF-8, rather than guessed.
- `;` or `,` between fields, whichever the header line uses more; `"` quotes a field.
- Line 1 is the header. Required columns: `matricule`, `siret`, `nom`, `type`. One optional
  column per portal, `contrat_<portal code>` (e.g. `contrat_soltea`), holds the structure's
  contract number there. Column names are case-insensitive and trimmed; other columns are ignored.
- `type` is `organisme_formation`, `certificateur` or `tiers_de_confiance`, or the label shown in
  the interface (« Organisme de formation »…), whatever the case and accents.

Importing is an idempotent upsert keyed by matricule: a second run of the same file changes
nothing and writes no audit event. An empty contract cell leaves an existing contract alone: the
referential may be exported portal by portal, and a missing cell must never cut a structure off.
A line is applied whole or rejected whole; the report gives each rejected line its number in the
file (the header is line 1), so that the operator fixes the spreadsheet and imports again.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.actors import Actor
from hub.audit.services import record
from hub.errors import HubError, InvalidField
from hub.portals.models import Portal
from hub.structures.models import KIND_LABELS, Contract, Structure, StructureKind
from hub.validation import (
    clean_contract_number,
    clean_matricule,
    clean_siret,
    clean_structure_name,
    search_key,
)

REQUIRED_COLUMNS = ("matricule", "siret", "nom", "type")
CONTRACT_PREFIX = "contrat_"
BATCH_SIZE = 500  # lines per flush, and the most values put in one SQL IN (…)
KIND_CODES = {
    StructureKind.TRAINING_ORGANISATION: "organisme_formation",
    StructureKind.CERTIFIER: "certificateur",
    StructureKind.DEPOSITOR: "tiers_de_confiance",
}
UTF8_BOM = b"\xef\xbb\xbf"

T = TypeVar("T")


class ImportFileInvalid(HubError):
    """The file as a whole cannot be read (encoding, header): nothing of it is imported."""

    code = "import_file_invalid"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


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


@dataclass
class ImportReport:
    """What the import did, or in all-or-nothing mode (`applied` false) would have done."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedLine] = field(default_factory=list)
    applied: bool = True

    @property
    def rejected_lines(self) -> int:
        """Lines, not problems: one line may be rejected for several reasons."""
        return len({problem.line for problem in self.rejected})


# --- reading the file -------------------------------------------------------------------------


def known_portal_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Portal.code).order_by(Portal.code)))


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


class _FileChecks:
    """What a line can only be checked against: the lines above it in the same file."""

    def __init__(self, portals: Mapping[str, Portal]) -> None:
        self.portals = portals
        self.matricules: dict[str, int] = {}
        self.contracts: dict[tuple[str, str], tuple[str, int]] = {}

    def check(self, row: SourceRow) -> list[RejectedLine]:
        matricule = row.matricule.strip()
        if not matricule:
            return []
        first = self.matricules.setdefault(matricule, row.line)
        if first != row.line:
            message = f"Matricule {matricule} déjà présent ligne {first} du fichier."
            return [RejectedLine(row.line, matricule, "matricule", message)]
        problems = []
        for code, cell in row.contracts.items():
            number = cell.strip().upper()
            if not number:
                continue
            holder, line = self.contracts.setdefault((code, number), (matricule, row.line))
            if holder != matricule:
                message = _contract_taken(self.portals[code], number, holder, line=line)
                problems.append(RejectedLine(row.line, matricule, CONTRACT_PREFIX + code, message))
        return problems


def _contract_taken(portal: Portal, number: str, holder: str, *, line: int | None = None) -> str:
    where = f" (ligne {line} du fichier)" if line is not None else ""
    return (
        f"Le numéro de contrat {number} ({portal.name}) est déjà attribué à la structure "
        f"{holder}{where}."
    )


# --- writing ----------------------------------------------------------------------------------


def import_structures(
    session: Session,
    rows_source: Iterable[SourceRow],
    *,
    actor: Actor,
    now: datetime,
    all_or_nothing: bool,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Creates and updates structures and contracts from `parse`'s rows, one audit event per
    structure created or changed, in the caller's transaction.

    Rejected lines are skipped and reported. With `all_or_nothing`, one rejected line makes the
    report say `applied=False`: the caller must then roll back (the counts tell what would have
    been written). `progress` is called with the number of lines handled after each batch.
    """
    portals = {portal.code: portal for portal in session.scalars(select(Portal))}
    checks = _FileChecks(portals)
    report = ImportReport()
    for batch in _chunks(rows_source, BATCH_SIZE):
        lines = []
        for row in batch:
            outcome = validate(row)
            problems = checks.check(row) + (outcome if isinstance(outcome, list) else [])
            report.rejected.extend(problems)
            if not problems and isinstance(outcome, StructureLine):
                lines.append(outcome)
        _apply(session, lines, portals, report, actor=actor, now=now)
        if progress is not None:
            progress(len(batch))
    report.rejected.sort(key=lambda problem: problem.line)
    report.applied = not (all_or_nothing and report.rejected)
    return report


def _apply(
    session: Session,
    lines: Sequence[StructureLine],
    portals: Mapping[str, Portal],
    report: ImportReport,
    *,
    actor: Actor,
    now: datetime,
) -> None:
    existing = _structures(session, [line.matricule for line in lines])
    holders = _contract_holders(session, lines)
    created = []
    for line in lines:
        conflicts = _held_by_others(line, holders, portals)
        if conflicts:
            report.rejected.extend(conflicts)
            continue
        structure = existing.get(line.matricule)
        if structure is None:
            created.append(_create(session, line, portals))
            report.created += 1
        elif _update(session, structure, line, portals, actor=actor, now=now):
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()  # the new structures' ids, which their audit events name
    for structure in created:
        record(
            session,
            actor=actor,
            action="structure.create",
            now=now,
            structure=structure,
            target=structure,
            after=snapshot(structure),
        )


def _structures(session: Session, matricules: Sequence[str]) -> dict[str, Structure]:
    found: dict[str, Structure] = {}
    for chunk in _chunks(matricules, BATCH_SIZE):
        query = (
            select(Structure)
            .where(Structure.matricule.in_(chunk))
            .options(selectinload(Structure.contracts))
        )
        found.update((structure.matricule, structure) for structure in session.scalars(query))
    return found


def _contract_holders(
    session: Session, lines: Sequence[StructureLine]
) -> dict[tuple[str, str], str]:
    """(portal code, number) → matricule of the structure that holds that contract today."""
    numbers = sorted({number for line in lines for number in line.contracts.values()})
    holders: dict[tuple[str, str], str] = {}
    for chunk in _chunks(numbers, BATCH_SIZE):
        query = (
            select(Portal.code, Contract.number, Structure.matricule)
            .join(Contract.portal)
            .join(Contract.structure)
            .where(Contract.number.in_(chunk))
        )
        holders.update(
            ((code, number), matricule) for code, number, matricule in session.execute(query)
        )
    return holders


def _held_by_others(
    line: StructureLine, holders: Mapping[tuple[str, str], str], portals: Mapping[str, Portal]
) -> list[RejectedLine]:
    """A contract number belongs to one structure per portal: taking it from another structure
    is a matter for the support, not for a bulk import."""
    conflicts = []
    for code, number in line.contracts.items():
        holder = holders.get((code, number), line.matricule)
        if holder != line.matricule:
            message = _contract_taken(portals[code], number, holder)
            conflicts.append(
                RejectedLine(line.line, line.matricule, CONTRACT_PREFIX + code, message)
            )
    return conflicts


def _create(session: Session, line: StructureLine, portals: Mapping[str, Portal]) -> Structure:
    structure = Structure(
        matricule=line.matricule, siret=line.siret, name=line.name, kind=line.kind
    )
    for code, number in line.contracts.items():
        structure.contracts.append(Contract(portal=portals[code], number=number))
    session.add(structure)
    return structure


def _update(
    session: Session,
    structure: Structure,
    line: StructureLine,
    portals: Mapping[str, Portal],
    *,
    actor: Actor,
    now: datetime,
) -> bool:
    """Brings `structure` in line with the file; True, and audited, when anything changed."""
    before = snapshot(structure)
    for attribute in ("siret", "name", "kind"):
        # Assigning an equal value would still mark the row dirty and bump `updated_at`.
        if getattr(structure, attribute) != getattr(line, attribute):
            setattr(structure, attribute, getattr(line, attribute))
    for code, number in line.contracts.items():
        contract = structure.contract_for(portals[code])
        if contract is None:
            structure.contracts.append(Contract(portal=portals[code], number=number))
        elif contract.number != number:
            contract.number = number
    after = snapshot(structure)
    changed = [key for key in after if before.get(key) != after[key]]
    if not changed:
        return False
    record(
        session,
        actor=actor,
        action="structure.update",
        now=now,
        structure=structure,
        target=structure,
        before={key: before.get(key) for key in changed},
        after={key: after[key] for key in changed},
    )
    return True


def snapshot(structure: Structure) -> dict[str, str]:
    """A structure as the audit log keeps it; one flat key per contract, so that
    `hub audit tail` shows « contracts.soltea: SOL-1 → SOL-2 »."""
    data = {
        "matricule": structure.matricule,
        "siret": structure.siret,
        "name": structure.name,
        "kind": structure.kind.value,
    }
    for contract in sorted(structure.contracts, key=lambda contract: contract.portal.code):
        data[f"contracts.{contract.portal.code}"] = contract.number
    return data


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk
