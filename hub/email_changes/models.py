from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.clock import utcnow
from hub.database import Base
from hub.portals.models import Portal
from hub.users.models import User


class EmailChange(Base):
    """A person's request to use `new_email`, applied when the link mailed there is followed.

    The link carries `nonce`; it works once (`confirmed_at`), until `expires_at`, and only while
    the person's address is still `old_email`: a link from before another change opens nothing.
    `portal` is where the request came from, to send the person back there."""

    __tablename__ = "email_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    portal_id: Mapped[int | None] = mapped_column(ForeignKey("portals.id", ondelete="SET NULL"))
    old_email: Mapped[str] = mapped_column(String(254))
    new_email: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")
    portal: Mapped[Portal | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<EmailChange {self.id} user {self.user_id}>"
