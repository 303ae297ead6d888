"""Finding a structure by what people know it by, and the certifiers a depositor deposits for."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.structures.models import Mandate, Structure


def structure_id_for(session: Session, matricule: str) -> int | None:
    """The id the audit log knows a structure by, from the matricule operators know it by."""
    return session.scalar(select(Structure.id).where(Structure.matricule == matricule))


def structure_with_contracts(session: Session, matricule: str) -> Structure | None:
    """The structure a matricule names, its contracts loaded with it (every check of a
    matricule + contract pair reads them)."""
    return session.scalar(
        select(Structure)
        .where(Structure.matricule == matricule)
        .options(selectinload(Structure.contracts))
    )


def mandating_certifiers(
    session: Session, depositor_ids: Collection[int]
) -> dict[int, list[Structure]]:
    """R12: for each of these structures, the certifiers it is mandated by (a tiers de
    confiance deposits on their behalf on Certificateurs), by name; one query."""
    if not depositor_ids:
        return {}
    rows = session.execute(
        select(Mandate.depositor_id, Structure)
        .join(Structure, Structure.id == Mandate.certifier_id)
        .where(Mandate.depositor_id.in_(sorted(depositor_ids)))
        .order_by(Structure.name, Structure.matricule)
    )
    found: dict[int, list[Structure]] = {}
    for depositor_id, certifier in rows:
        found.setdefault(depositor_id, []).append(certifier)
    return found
