from __future__ import annotations

from typing import ClassVar, Protocol

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.database import Base


class PortalLike(Protocol):
    """A `Portal`, or a copy of one detached from the database (the OpenID Connect client
    registry's `PortalRecord`): what R5's door and the hub's pages read of a portal."""

    @property
    def id(self) -> int: ...
    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def base_url(self) -> str: ...


class Portal(Base):
    """A portal (SOLTÉA, Certificateurs, …): accounts on it last `validity_months` (R3)."""

    __tablename__ = "portals"
    __table_args__ = (CheckConstraint("validity_months > 0", name="validity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    validity_months: Mapped[int] = mapped_column(default=18)
    base_url: Mapped[str] = mapped_column(String(255))

    audit_type: ClassVar[str] = "portal"

    @property
    def audit_label(self) -> str:
        return self.code

    def __repr__(self) -> str:
        return f"<Portal {self.code}>"


class DelegationRule(Base):
    """R9: an admin of a structure on `source` is an admin of it on `target` (one hop, derived
    at query time, never copied)."""

    __tablename__ = "delegation_rules"
    __table_args__ = (
        UniqueConstraint("source_portal_id", "target_portal_id"),
        CheckConstraint("source_portal_id <> target_portal_id", name="distinct_portals"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"))
    target_portal_id: Mapped[int] = mapped_column(
        ForeignKey("portals.id", ondelete="CASCADE"), index=True
    )

    source_portal: Mapped[Portal] = relationship(foreign_keys=[source_portal_id], lazy="joined")
    target_portal: Mapped[Portal] = relationship(foreign_keys=[target_portal_id], lazy="joined")
