from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from hub.clock import utcnow
from hub.database import Base, str_enum
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.models import Civility, User


class Role(StrEnum):
    ADMIN = "admin"
    USER = "user"


class Right(StrEnum):
    DATA_EXCHANGE = "data_exchange"  # « Transmettre et consulter les données » (R7)


DEFAULT_RIGHTS = frozenset({Right.DATA_EXCHANGE})


class RightSet(TypeDecorator[frozenset[Right]]):
    """A set of rights kept as one sorted, comma-separated column: small, readable, no join."""

    impl = String(200)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return ",".join(sorted(Right(v).value for v in value))

    def process_result_value(self, value: str | None, dialect: Any) -> frozenset[Right]:
        return frozenset(Right(v) for v in (value or "").split(",") if v)


class Account(Base):
    """A person's membership of one structure on one portal (R2, R3, R7)."""

    __tablename__ = "accounts"
    __table_args__ = (
        UniqueConstraint("user_id", "structure_id", "portal_id"),
        Index("ix_accounts_structure_portal_expires", "structure_id", "portal_id", "expires_at"),
        Index("ix_accounts_expires_at", "expires_at"),
        # R9, R10: a structure's administrators, found among its accounts without reading them
        # all (« Administrateur (via SOLTÉA) » on every page of a large structure's list).
        Index("ix_accounts_structure_role", "structure_id", "role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id", ondelete="CASCADE"))
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(str_enum(Role, length=16))
    is_first_admin: Mapped[bool] = mapped_column(default=False)
    rights: Mapped[frozenset[Right]] = mapped_column(RightSet(), default=DEFAULT_RIGHTS)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship(back_populates="accounts", lazy="joined")
    structure: Mapped[Structure] = relationship(lazy="joined")
    portal: Mapped[Portal] = relationship(lazy="joined")

    audit_type: ClassVar[str] = "account"

    @property
    def audit_label(self) -> str:
        """How the audit log names it: « alice.martin (100001, soltea) »."""
        return f"{self.user.username} ({self.structure.matricule}, {self.portal.code})"

    def is_expired(self, now: datetime) -> bool:
        """R3: expired once `expires_at <= now`."""
        return self.expires_at <= now

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def has_right(self, right: Right) -> bool:
        return right in self.rights

    def snapshot(self) -> dict[str, Any]:
        """What the audit log keeps of an account before and after a change."""
        return {
            "role": self.role.value,
            "rights": sorted(r.value for r in self.rights),
            "expires_at": self.expires_at.isoformat(),
        }

    def __repr__(self) -> str:
        return f"<Account {self.user_id}@{self.structure_id}/{self.portal_id} {self.role.value}>"


class RenewalReceipt(Base):
    """R4: remembers a renewal made under an idempotency key, so a resubmission renews once."""

    __tablename__ = "renewal_receipts"
    __table_args__ = (UniqueConstraint("account_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class InvitationStatus(StrEnum):
    PENDING = "pending"  # sent, not accepted yet (« Invitation envoyée », then expired)
    ACCEPTED = "accepted"  # the account exists
    CANCELLED = "cancelled"  # withdrawn by an administrator


class Invitation(Base):
    """« Créer un compte » (R2) as an offer the person accepts (issue 12 §2). Nothing exists
    on the portal until they do: the account is opened then, with the role and rights chosen
    here. The administrator names the person by `invitee` (an identifiant or an e-mail
    address), with their details when the person may be new; the hub resolves whom it reaches
    (`user_id`) but never tells the administrator, who sees only what they typed — whether the
    person exists or not, the answer is the same.

    The link mailed carries `nonce`, renewed at each sending: only the latest link works, and
    once the invitation is accepted or cancelled none does.
    """

    __tablename__ = "invitations"
    __table_args__ = (
        Index("ix_invitations_structure_portal_status", "structure_id", "portal_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[InvitationStatus] = mapped_column(
        str_enum(InvitationStatus, length=16), default=InvitationStatus.PENDING
    )
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id", ondelete="CASCADE"))
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(str_enum(Role, length=16))
    rights: Mapped[frozenset[Right]] = mapped_column(RightSet(), default=DEFAULT_RIGHTS)
    # As the administrator typed it (trimmed, lower-cased): an identifiant or an e-mail address.
    invitee: Mapped[str] = mapped_column(String(254))
    # A new person's details, as typed; absent when the administrator named someone known.
    civility: Mapped[Civility | None] = mapped_column(str_enum(Civility, length=8))
    last_name: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(100))
    service: Mapped[str | None] = mapped_column(String(100))
    mobile_phone: Mapped[str | None] = mapped_column(String(20))
    landline_phone: Mapped[str | None] = mapped_column(String(20))
    # Whom the invitation reaches, when the hub knows them: never shown to the administrator.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))

    structure: Mapped[Structure] = relationship(lazy="joined")
    portal: Mapped[Portal] = relationship(lazy="joined")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    audit_type: ClassVar[str] = "invitation"

    @property
    def audit_label(self) -> str:
        """As typed: the person it reaches stays unnamed in the audit log."""
        return self.invitee

    @property
    def names_a_new_person(self) -> bool:
        """Typed as a new person (names and an address), rather than as someone known."""
        return self.last_name is not None

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def snapshot(self) -> dict[str, Any]:
        """What the audit log keeps: only what the administrator typed and chose."""
        return {
            "invitee": self.invitee,
            "role": self.role.value,
            "rights": sorted(r.value for r in self.rights),
            "expires_at": self.expires_at.isoformat(),
        }

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.status.value} {self.structure_id}/{self.portal_id}>"
