"""Finding a structure by what people know it by."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.structures.models import Structure


def structure_id_for(session: Session, matricule: str) -> int | None:
    """The id the audit log knows a structure by, from the matricule operators know it by."""
    return session.scalar(select(Structure.id).where(Structure.matricule == matricule))
