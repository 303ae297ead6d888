"""What the deposit service hands to pages: plain frozen dataclasses, read from the tables."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from portals.certificateurs.deposits import messages
from portals.certificateurs.deposits.models import FINISHED, PROCESSING
from portals.kit.structures import StructureRef


@dataclass(frozen=True)
class PersonRef:
    """The signed-in person: the hub's `sub` and the name to print."""

    sub: str
    name: str


@dataclass(frozen=True)
class Deposit:
    number: str  # « D-2026-000123 », in URLs and on receipts
    certifier: StructureRef
    depositor: StructureRef  # the depositing person's own structure
    person: PersonRef
    filename: str  # sanitised
    size: int  # bytes
    sha256: str
    format: str  # "CSV" or "XML" (formats.Format's name)
    state: str  # received / processing / processed / rejected
    records_done: int
    records_total: int | None  # an estimate while processing (None when unknown)
    accepted: int
    rejected: int
    received_at: datetime  # aware, UTC
    processed_at: datetime | None
    error: str | None  # why the file was refused as a whole (state rejected)

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def state_label(self) -> str:
        """« Reçu », « En cours », « Traité », « Rejeté »."""
        return messages.STATE_LABELS[self.state]

    @property
    def progress_percent(self) -> int | None:
        """While processing, how far (0–99; 100 once finished); None when the total is not
        known (the page then shows only « en cours »)."""
        if self.finished:
            return 100
        if self.state != PROCESSING or not self.records_total:
            return 0 if self.state != PROCESSING else None
        return min(99, math.floor(100 * self.records_done / self.records_total))


@dataclass(frozen=True)
class RejectionLine:
    """One reason a record was rejected, as the accusé de traitement lists it."""

    location: str  # « ligne 12 », « certification 3 »
    field: str
    reason: str


@dataclass(frozen=True)
class HistoryPage:
    deposits: list[Deposit]
    total: int  # deposits matching the filters, over every page
    page: int  # 1-based
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def deposit_from_row(row: Mapping[str, Any]) -> Deposit:
    return Deposit(
        number=row["number"],
        certifier=StructureRef(row["certifier_matricule"], row["certifier_name"]),
        depositor=StructureRef(row["depositor_matricule"], row["depositor_name"]),
        person=PersonRef(row["person_sub"], row["person_name"]),
        filename=row["filename"],
        size=row["size"],
        sha256=row["sha256"],
        format=row["format"],
        state=row["state"],
        records_done=row["records_done"],
        records_total=row["records_total"],
        accepted=row["accepted"],
        rejected=row["rejected"],
        received_at=row["received_at"],
        processed_at=row["processed_at"],
        error=row["error"],
    )
