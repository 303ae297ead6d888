"""What an administrator manages from this portal, as the hub says (`GET /admin/scope`): the
portals (this one first, then those it delegates to, R9) and the structures. The pages choose a
(portal, structure) pair from it; the hub still decides on every call."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from portals.kit.messages import PORTAL_NAMES


@dataclass(frozen=True)
class ManagedPortal:
    code: str
    name: str
    via: str | None  # the portal this right comes from (R9), None on the admin's own portal


@dataclass(frozen=True)
class ManagedStructure:
    matricule: str
    name: str
    siret: str | None
    portals: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.name} ({self.matricule})"


@dataclass(frozen=True)
class Selection:
    """The (portal, structure) pair a page works on; `managed` is False when the structure has
    no account this admin manages on that portal (then nothing is asked of the hub)."""

    portal: ManagedPortal
    structure: ManagedStructure
    managed: bool


@dataclass(frozen=True)
class AdminScope:
    portals: tuple[ManagedPortal, ...]
    structures: tuple[ManagedStructure, ...]

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> AdminScope:
        portals = tuple(
            ManagedPortal(
                code=str(entry["code"]),
                name=str(entry.get("name") or entry["code"]),
                via=_code(entry.get("via")),
            )
            for entry in answer.get("portals") or ()
        )
        structures = tuple(
            ManagedStructure(
                matricule=str(entry["matricule"]),
                name=str(entry.get("name") or entry["matricule"]),
                siret=entry.get("siret"),
                portals=tuple(str(code) for code in entry.get("portals") or ()),
            )
            for entry in answer.get("structures") or ()
        )
        return cls(portals=portals, structures=structures)

    @property
    def is_empty(self) -> bool:
        return not self.portals or not self.structures

    def portal_name(self, code: str | None) -> str:
        return portal_label(code, self.portals)

    def select(self, *, portal: str | None, matricule: str | None, current: str) -> Selection:
        """The pair asked for, or sensible defaults: this portal, then the first structure
        managed on the chosen portal."""
        assert not self.is_empty
        codes = [p.code for p in self.portals]
        code = next((c for c in (portal, current) if c in codes), codes[0])
        chosen_portal = self.portals[codes.index(code)]
        structure = next((s for s in self.structures if s.matricule == matricule), None)
        if structure is None:
            structure = next((s for s in self.structures if code in s.portals), self.structures[0])
        return Selection(chosen_portal, structure, managed=code in structure.portals)


def portal_label(value: Any, known: Iterable[ManagedPortal] = ()) -> str:
    """A portal the hub names by code or by {code, name}, as people read it (« SOLTÉA »)."""
    if isinstance(value, Mapping):
        return str(value.get("name") or value.get("code") or "")
    if not value:
        return ""
    code = str(value)
    return next((p.name for p in known if p.code == code), PORTAL_NAMES.get(code, code))


def _code(via: Any) -> str | None:
    """`via` as a portal code, whether the hub sends the code or {code, name}."""
    if isinstance(via, dict):
        return str(via.get("code")) if via.get("code") else None
    return str(via) if via else None
