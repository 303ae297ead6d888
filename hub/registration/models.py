from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.clock import utcnow
from hub.database import Base, str_enum
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.models import Civility


class RegistrationStatus(StrEnum):
    PENDING = "pending"  # the validation link was mailed, not followed yet
    COMPLETED = "completed"  # the person chose a password: user, account and mandates exist


class Registration(Base):
    """A registration waiting for its e-mail validation (R12). Nothing else exists until the
    link is followed: the person, their account and the mandates are created then, in one
    transaction, from what is kept here. The link carries `nonce`; a registration is completed
    at most once, which makes the link single-use (one refused by R10 stays pending: it may
    still complete, before it expires, should the structure lose its administrator)."""

    __tablename__ = "registrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    # The step token's nonce (step 1 → step 2): unique, so that one token mails at most once.
    step_nonce: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus, length=16), default=RegistrationStatus.PENDING
    )
    portal_id: Mapped[int] = mapped_column(ForeignKey("portals.id", ondelete="CASCADE"))
    structure_id: Mapped[int] = mapped_column(
        ForeignKey("structures.id", ondelete="CASCADE"), index=True
    )
    # A mandated depositor's certifiers (tiers de confiance), by matricule, in the order given.
    certifier_matricules: Mapped[list[str]] = mapped_column(JSON, default=list)
    email: Mapped[str] = mapped_column(String(254))
    civility: Mapped[Civility | None] = mapped_column(str_enum(Civility, length=8))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    service: Mapped[str | None] = mapped_column(String(100))
    mobile_phone: Mapped[str | None] = mapped_column(String(20))
    landline_phone: Mapped[str | None] = mapped_column(String(20))
    terms_version: Mapped[str] = mapped_column(String(20))
    terms_accepted_at: Mapped[datetime]
    # Where the person goes once registered: the portal's authorization request (`prompt=create`).
    next_path: Mapped[str | None] = mapped_column(Text)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    portal: Mapped[Portal] = relationship(lazy="joined")
    structure: Mapped[Structure] = relationship(lazy="joined")

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def __repr__(self) -> str:
        return f"<Registration {self.id} {self.status.value} {self.structure_id}/{self.portal_id}>"


class TermsAcceptance(Base):
    """A person's acceptance of one version of the CGU, and when (R12). A new version of the
    CGU is accepted again, in a row of its own: the history is kept."""

    __tablename__ = "terms_acceptances"
    __table_args__ = (UniqueConstraint("user_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(20))
    accepted_at: Mapped[datetime]
