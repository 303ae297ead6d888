"""A structure as the hub's claims name it: what every portal page and portal table that
speaks of a structure keeps of it (its matricule, the BCR, and its name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StructureRef:
    matricule: str
    name: str

    @classmethod
    def from_claim(cls, structure: dict[str, Any]) -> StructureRef:
        return cls(
            matricule=str(structure.get("matricule", "")), name=str(structure.get("name", ""))
        )
