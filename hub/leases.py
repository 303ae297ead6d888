"""Leases: which instance runs the periodic jobs (reminders, purge) when several share the database.

Mail and back-channel logouts need no lease: every instance sends them, each row claimed on its
own (`FOR UPDATE SKIP LOCKED` and leased rows). A periodic job is one run over the whole
database, so one instance at a time does it: the one holding the job's lease, a row of `leases`
it renews every few seconds. A holder that stops renewing (killed, cut from the database) loses
the lease when it expires, and another instance takes it over at its next renewal: a lease is a
row rather than a PostgreSQL advisory lock so that the same code serves SQLite and so that who
holds what can be read (`holders`, the metrics).

Taking and renewing are one conditional UPDATE, atomic on both databases (the row lock on
PostgreSQL, the single writer on SQLite): of two instances racing for an expired lease, one
updates the row and the other finds it taken.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime, timedelta

from sqlalchemy import String, case, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from hub.database import Base, upsert_insert
from hub.transactions import retrying


class Lease(Base):
    """The current holder of a named job, until `expires_at` unless renewed."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    def __repr__(self) -> str:
        return f"<Lease {self.name} held by {self.holder} until {self.expires_at:%H:%M:%S}>"


def holder_name() -> str:
    """Who this process is, as operators read it: host, process id, and a random part so that
    a restarted process with the same pid is a new holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def hold(
    session_factory: sessionmaker[Session],
    name: str,
    holder: str,
    *,
    now: datetime,
    ttl: timedelta,
) -> bool:
    """Takes the lease `name` for `holder`, or renews it if `holder` has it; True while held.

    The row is created once (INSERT … ON CONFLICT DO NOTHING, born expired), then only updated:
    by its holder, or by anyone once it has expired."""

    def attempt(session: Session) -> bool:
        table = Lease.__table__
        session.execute(
            upsert_insert(session, table)
            .values(name=name, holder=holder, acquired_at=now, expires_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        taken = session.execute(
            update(Lease)
            .where(
                Lease.name == name,
                or_(Lease.holder == holder, Lease.expires_at <= now),
            )
            .values(
                # acquired_at moves only when the lease changes hands
                acquired_at=case((Lease.holder == holder, Lease.acquired_at), else_=now),
                holder=holder,
                expires_at=now + ttl,
            )
            .execution_options(synchronize_session=False)
        )
        return taken.rowcount == 1

    return retrying(session_factory, attempt)


def release(session_factory: sessionmaker[Session], name: str, holder: str) -> None:
    """Gives the lease up at once (a clean stop), so that another instance need not wait for
    it to expire."""
    retrying(
        session_factory,
        lambda session: session.execute(
            delete(Lease).where(Lease.name == name, Lease.holder == holder)
        ),
    )


def holders(session: Session, *, now: datetime) -> list[Lease]:
    """The leases held now, by name."""
    return list(session.scalars(select(Lease).where(Lease.expires_at > now).order_by(Lease.name)))
