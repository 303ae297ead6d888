from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hub.clock import utcnow
from hub.database import Base, BigId


class ReminderSent(Base):
    """An expiry reminder mailed for an account at a threshold (30 or 7 days), so that each is
    mailed once however often reminders run. `expires_at` is the expiry the reminder spoke of:
    an account renewed (R4) and expiring again is reminded again."""

    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("account_id", "threshold_days", "expires_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    threshold_days: Mapped[int]
    expires_at: Mapped[datetime]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ReminderSent account {self.account_id} J-{self.threshold_days}>"
