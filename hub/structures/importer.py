"""Writing the structures and contracts referential, as `hub.structures.referential_file` reads
it, to the database.

Importing is an idempotent upsert keyed by matricule: a second run of the same file changes
nothing and writes no audit event. An empty contract cell leaves an existing contract alone: the
referential may be exported portal by portal, and a missing cell must never cut a structure off.
A line is applied whole or rejected whole; the report gives each rejected line its number in the
file (the header is line 1), so that the operator fixes the spreadsheet and imports again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.actors import Actor
from hub.audit.services import record
from hub.portals.models import Portal
from hub.structures.models import Contract, Structure
from hub.structures.referential_file import (
    CONTRACT_PREFIX,
    RejectedLine,
    SourceRow,
    StructureLine,
    validate,
)

BATCH_SIZE = 500  # lines per flush, and the most values put in one SQL IN (…)

T = TypeVar("T")


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


def known_portal_codes(session: Session) -> list[str]:
    return list(session.scalars(select(Portal.code).order_by(Portal.code)))


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
