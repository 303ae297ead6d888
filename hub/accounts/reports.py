"""Read-only reports on accounts, for the operators who warn structures before access lapses (R3).

A report row is a flat, detached snapshot rather than an `Account`: it is read in one query (joins,
no lazy loads per row) and outlives the session, so a CSV export can be written after it closes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Account, Role
from hub.clock import to_paris
from hub.errors import UnknownPortal
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.models import User


@dataclass(frozen=True)
class ExpiringAccount:
    """One line of the expiry report: who, where, and how long is left."""

    portal_code: str
    portal_name: str
    matricule: str
    structure_name: str
    username: str
    last_name: str
    first_name: str
    email: str
    role: Role
    expires_at: datetime
    days_left: int


def days_left(expires_at: datetime, *, now: datetime) -> int:
    """Calendar days from today to the expiry date, both taken in Europe/Paris.

    Counted on the calendar a person reads rather than in 24-hour slices, so that the number
    agrees with the date shown next to it (« 23/12/2026 », 30 days from 23/11/2026). Negative
    once expired: -10 means expired ten days ago.
    """
    return (to_paris(expires_at).date() - to_paris(now).date()).days


def check_portal_codes(session: Session, codes: Collection[str]) -> None:
    """Raises `UnknownPortal` when a code names no portal: a typo must not read as "nobody"."""
    known = set(session.scalars(select(Portal.code)))
    unknown = set(codes) - known
    if unknown:
        raise UnknownPortal(unknown, known)


def expiring_accounts(
    session: Session,
    *,
    now: datetime,
    within: timedelta,
    include_expired: bool = False,
    portal_codes: Collection[str] | None = None,
) -> list[ExpiringAccount]:
    """Accounts with `now < expires_at <= now + within` (R3), soonest first, then by name.

    `include_expired` adds the accounts already expired (`expires_at <= now`), which an admin may
    still renew (R4). `portal_codes` restricts the report to those portals; an unknown code raises
    `UnknownPortal`. Only accounts held directly are listed: a delegated admin right (R9) has no
    expiry of its own, it lapses with the source account, which is listed on its own portal.
    """
    if portal_codes:
        check_portal_codes(session, portal_codes)
    query = (
        select(
            Portal.code,
            Portal.name,
            Structure.matricule,
            Structure.name,
            User.username,
            User.last_name,
            User.first_name,
            User.email,
            Account.role,
            Account.expires_at,
        )
        .select_from(Account)
        .join(Account.user)
        .join(Account.structure)
        .join(Account.portal)
        .where(Account.expires_at <= now + within)
        .order_by(
            Account.expires_at,
            User.last_name,
            User.first_name,
            Portal.code,
            Structure.matricule,
            User.username,
        )
    )
    if not include_expired:
        query = query.where(Account.expires_at > now)
    if portal_codes:
        query = query.where(Portal.code.in_(sorted(set(portal_codes))))
    return [
        ExpiringAccount(*row, days_left=days_left(row.expires_at, now=now))
        for row in session.execute(query)
    ]
