from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.database import Base, BigId


class AuditEvent(Base):
    """One change, written in the transaction that makes it. Append-only: the database refuses
    updates (a trigger, see the migrations). Ids are copied, not foreign keys, so the history
    outlives the people and structures it speaks of."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_structure_occurred", "structure_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    structure_id: Mapped[int | None]
    portal: Mapped[str | None] = mapped_column(String(32))
    via_portal: Mapped[str | None] = mapped_column(String(32))
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} by {self.actor}>"
