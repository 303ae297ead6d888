"""What the support (R11) keeps: the « Changer d'administrateur » requests anyone may file, and
the console's sessions of the operators who work on them.

Operators are not people of the hub: the directory knows them (`hub.support.directory`), and a
console session only copies who they are for its length — identifiant, name, role — with no
password and no row of theirs elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.clock import utcnow
from hub.database import Base, str_enum
from hub.portals.models import Portal
from hub.users.models import Civility


class OperatorRole(StrEnum):
    OPERATOR = "operator"  # acts on requests and repairs
    READER = "reader"  # sees only

    @property
    def can_act(self) -> bool:
        return self is OperatorRole.OPERATOR


class RequestStatus(StrEnum):
    NEW = "new"  # « Nouvelle »: filed, nobody has taken it
    IN_PROGRESS = "in_progress"  # « En cours »: an operator holds it
    DONE = "done"  # « Traitée »: the new administrator was designated
    REFUSED = "refused"  # « Refusée », with the reason the requester was sent

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_open(self) -> bool:
        return self in OPEN_STATUSES


STATUS_LABELS = {
    RequestStatus.NEW: "Nouvelle",
    RequestStatus.IN_PROGRESS: "En cours",
    RequestStatus.DONE: "Traitée",
    RequestStatus.REFUSED: "Refusée",
}
OPEN_STATUSES = frozenset({RequestStatus.NEW, RequestStatus.IN_PROGRESS})


class AdminChangeRequest(Base):
    """« Changer d'administrateur » (R11): the structure as the requester identified it
    (matricule, contract number, SIRET: kept as typed, checked by an operator against the
    referential, never at filing — the answer must not tell whether they exist), the new
    administrator's details, the portal concerned and a comment.

    `number` is what the requester quotes: random, so that it tells nothing of how many
    requests there are and cannot be guessed. An operator takes the request (`holder_*`) before
    acting, so that two never work one request twice; it ends designated or refused.
    """

    __tablename__ = "admin_change_requests"
    __table_args__ = (
        Index("ix_admin_change_requests_status_created", "status", "created_at"),
        Index("ix_admin_change_requests_matricule_status", "matricule", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[RequestStatus] = mapped_column(
        str_enum(RequestStatus, length=16), default=RequestStatus.NEW
    )
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="RESTRICT"))
    matricule: Mapped[str] = mapped_column(String(20))
    contract: Mapped[str] = mapped_column(String(50))
    siret: Mapped[str] = mapped_column(String(14), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    civility: Mapped[Civility] = mapped_column(str_enum(Civility, length=8))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    service: Mapped[str | None] = mapped_column(String(100))
    mobile_phone: Mapped[str | None] = mapped_column(String(20))
    landline_phone: Mapped[str | None] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The operator working on it (directory identifiant and name), since `taken_at`.
    holder_login: Mapped[str | None] = mapped_column(String(128))
    holder_name: Mapped[str | None] = mapped_column(String(200))
    taken_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    # Whom the designation named (a person the hub knew, or the invitation of a new one).
    designated_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    portal: Mapped[Portal] = relationship(lazy="joined")

    audit_type: ClassVar[str] = "admin_change_request"

    @property
    def audit_label(self) -> str:
        return f"{self.number} ({self.matricule}, {self.portal.code})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def snapshot(self) -> dict[str, Any]:
        """What the audit log keeps of a request's state."""
        return {
            "status": self.status.value,
            "holder": self.holder_login,
            "refusal_reason": self.refusal_reason,
        }

    def __repr__(self) -> str:
        return f"<AdminChangeRequest {self.number} {self.status.value}>"


class SupportSession(Base):
    """An operator's console session: the cookie holds a random key, this row its hash. It ends
    at sign-out, after `Support.idle_minutes` without a request, or at most after
    `Support.session_hours`; a change needs a password checked within the last
    `Support.reauth_minutes` (`authenticated_at`)."""

    __tablename__ = "support_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    login: Mapped[str] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[OperatorRole] = mapped_column(str_enum(OperatorRole, length=16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    authenticated_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(String(45))

    def __repr__(self) -> str:
        return f"<SupportSession {self.login} {self.role.value}>"
