from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.clock import utcnow
from hub.database import Base, str_enum
from hub.portals.models import Portal


class StructureKind(StrEnum):
    TRAINING_ORGANISATION = "training_organisation"
    CERTIFIER = "certifier"
    DEPOSITOR = "depositor"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    StructureKind.TRAINING_ORGANISATION: "Organisme de formation",
    StructureKind.CERTIFIER: "Certificateur",
    StructureKind.DEPOSITOR: "Tiers de confiance",
}


class Structure(Base):
    """An organisation, known by its matricule (id client, BCR) and SIRET."""

    __tablename__ = "structures"

    id: Mapped[int] = mapped_column(primary_key=True)
    matricule: Mapped[str] = mapped_column(String(20), unique=True)
    siret: Mapped[str] = mapped_column(String(14), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[StructureKind] = mapped_column(str_enum(StructureKind, length=32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    contracts: Mapped[list[Contract]] = relationship(
        back_populates="structure", cascade="all, delete-orphan", passive_deletes=True
    )

    audit_type: ClassVar[str] = "structure"

    @property
    def audit_label(self) -> str:
        return f"{self.matricule} {self.name}"

    def contract_for(self, portal: Portal) -> Contract | None:
        return next((c for c in self.contracts if c.portal_id == portal.id), None)

    def __repr__(self) -> str:
        return f"<Structure {self.matricule} {self.name!r}>"


class Contract(Base):
    """A structure's contract for one portal; registration needs matricule + this number (R12)."""

    __tablename__ = "contracts"
    __table_args__ = (
        UniqueConstraint("structure_id", "portal_id"),
        UniqueConstraint("portal_id", "number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id", ondelete="CASCADE"))
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(50))

    structure: Mapped[Structure] = relationship(back_populates="contracts")
    portal: Mapped[Portal] = relationship(lazy="joined")


# The portals where mandates matter: a structure registers there as a mandated depositor
# (tiers de confiance), and deposits there on its certifiers' behalf (R12, R13).
MANDATE_PORTALS = frozenset({"certificateurs"})


class Mandate(Base):
    """A depositor (tiers de confiance) allowed to deposit on behalf of a certifier structure."""

    __tablename__ = "mandates"
    __table_args__ = (
        UniqueConstraint("depositor_id", "certifier_id"),
        CheckConstraint("depositor_id <> certifier_id", name="distinct_structures"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    depositor_id: Mapped[int] = mapped_column(ForeignKey("structures.id", ondelete="CASCADE"))
    certifier_id: Mapped[int] = mapped_column(
        ForeignKey("structures.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    depositor: Mapped[Structure] = relationship(foreign_keys=[depositor_id])
    certifier: Mapped[Structure] = relationship(foreign_keys=[certifier_id])
