from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, ClassVar

from sqlalchemy import Index, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.clock import utcnow
from hub.database import Base, str_enum
from hub.validation import search_key

if TYPE_CHECKING:
    from hub.accounts.models import Account


class Civility(StrEnum):
    MR = "M."
    MRS = "Mme"


def _new_public_id() -> str:
    return uuid.uuid4().hex


def full_name(first_name: str, last_name: str) -> str:
    """« Prénom Nom », the way R10 names an administrator (and the `name` claim names anyone)."""
    return f"{first_name} {last_name}"


class User(Base):
    """A person's one identity across every portal (R14): one username, one password.

    `public_id` is the OIDC `sub`: stable and opaque, unlike the username a person may see
    changed by the support.
    """

    __tablename__ = "users"
    __table_args__ = (Index("ix_users_last_name_first_name", "last_name", "first_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=_new_public_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    civility: Mapped[Civility | None] = mapped_column(str_enum(Civility, length=8))
    last_name: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(100))
    service: Mapped[str | None] = mapped_column(String(100))
    mobile_phone: Mapped[str | None] = mapped_column(String(20))
    landline_phone: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_must_change: Mapped[bool] = mapped_column(default=False)
    # R14 « Mot de passe oublié »: a single-use temporary password, valid until the time given.
    temporary_password_hash: Mapped[str | None] = mapped_column(String(255))
    temporary_password_expires_at: Mapped[datetime | None]
    email_verified: Mapped[bool] = mapped_column(default=False)
    search_text: Mapped[str] = mapped_column(String(600), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    accounts: Mapped[list[Account]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    audit_type: ClassVar[str] = "user"

    @property
    def audit_label(self) -> str:
        return self.username

    @property
    def full_name(self) -> str:
        return full_name(self.first_name, self.last_name)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


@event.listens_for(User, "before_insert")
@event.listens_for(User, "before_update")
def _refresh_search_text(_mapper: object, _connection: object, user: User) -> None:
    user.search_text = search_key(user.last_name, user.first_name, user.email, user.username)
