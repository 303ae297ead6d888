"""The accounts of one (structure, portal) as an administrator pages through them (R2, R3, R9;
R15 « Gérer les comptes existants »): search, status filter, sort, pagination, and the people
who administer the pair by delegation without it being their own account.

A page costs its one check and at most two statements whatever its size (see `account_page`).
Search runs on the person's stored `search_text` (lower-case, accent-free), so « chloe » finds
« Chloé ».
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session, aliased, contains_eager, lazyload

from hub import validation
from hub.accounts import policies, reach
from hub.accounts.models import Account
from hub.accounts.policies import Administrator
from hub.actors import Actor
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.models import User

EXPIRING_WITHIN = timedelta(days=30)  # « Expire bientôt »
PER_PAGE = 50
PER_PAGE_MAX = 200
SEARCH_MAX = 100


class Status(StrEnum):
    """R3 as the list shows it: « Valide », « Expire bientôt », « Expiré ». As a filter,
    `valid` means not expired, the accounts expiring soon included."""

    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"


class Sort(StrEnum):
    EXPIRY = "expires_at"
    EXPIRY_DESC = "-expires_at"
    NAME = "name"
    NAME_DESC = "-name"


def status_of(expires_at: datetime, *, now: datetime) -> Status:
    if expires_at <= now:
        return Status.EXPIRED
    if expires_at <= now + EXPIRING_WITHIN:
        return Status.EXPIRING
    return Status.VALID


def clamp_per_page(per_page: int) -> int:
    """Page sizes are clamped, not refused: a portal asking for a million rows gets 200."""
    return min(max(per_page, 1), PER_PAGE_MAX)


@dataclass(frozen=True)
class AccountPage:
    items: list[Account]
    total: int
    page: int
    per_page: int


def _status_clause(status: Status, now: datetime) -> ColumnElement[bool]:
    if status is Status.EXPIRED:
        return Account.expires_at <= now
    if status is Status.EXPIRING:
        return and_(Account.expires_at > now, Account.expires_at <= now + EXPIRING_WITHIN)
    return Account.expires_at > now


def search_terms(search: str) -> list[str]:
    """The words of a search, folded like `User.search_text`; control characters are dropped
    (they never occur in names and PostgreSQL refuses NUL)."""
    printable = "".join(ch for ch in search[:SEARCH_MAX] if ch.isprintable())
    return validation.search_key(printable).split()


def _person_text() -> ColumnElement[str]:
    """The account holder's `search_text`, looked up for each account of the pair: the search
    reads the pair's accounts and their people, never every person the hub knows (which
    PostgreSQL would scan to hash-join them, whatever the pair's size)."""
    person = aliased(User)
    return (
        select(person.search_text)
        .where(person.id == Account.user_id)
        .correlate(Account)
        .scalar_subquery()
    )


_PERSON_TEXT = _person_text()


def _ordering(sort: Sort) -> tuple[ColumnElement[object], ...]:
    # `search_text` begins with the folded last and first names: sorting on it puts « Élise »
    # between « Eddy » and « Fanny », where a byte-wise sort on `first_name` would not.
    columns = {
        Sort.EXPIRY: (Account.expires_at, Account.id),
        Sort.EXPIRY_DESC: (Account.expires_at.desc(), Account.id.desc()),
        Sort.NAME: (User.search_text, Account.id),
        Sort.NAME_DESC: (User.search_text.desc(), Account.id.desc()),
    }
    return columns[sort]


def account_page(
    session: Session,
    structure: Structure,
    portal: Portal,
    *,
    by: Actor,
    now: datetime,
    from_portal: Portal | None = None,
    search: str = "",
    status: Status | None = None,
    sort: Sort = Sort.EXPIRY,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> AccountPage:
    """One page of the accounts of (structure, portal), for its administrators (R2, R9: checked
    first, `reach.authorise`).

    Without a search, the count reads the pair's index only and the page stops after its rows.
    A search must read every account of the pair anyway: the page and the count then come from
    that one reading (a window count), and a separate count only for a page past the end."""
    reach.authorise(
        session, by, structure, portal, now=now, action="account.list", from_portal=from_portal
    )
    per_page = clamp_per_page(per_page)
    terms = search_terms(search)
    offset = (page - 1) * per_page
    conditions = [Account.structure_id == structure.id, Account.portal_id == portal.id]
    if status is not None:
        conditions.append(_status_clause(status, now))
    conditions += [_PERSON_TEXT.contains(term, autoescape=True) for term in terms]
    counted = select(func.count()).select_from(Account).where(*conditions)
    query = (
        select(Account)
        .join(Account.user)
        # The structure and portal are the pair's, in the session already: not joined per row.
        .options(
            contains_eager(Account.user), lazyload(Account.structure), lazyload(Account.portal)
        )
        .where(*conditions)
        .order_by(*_ordering(sort))
        .limit(per_page)
    )
    if terms:
        rows = session.execute(query.add_columns(func.count().over()).offset(offset)).all()
        total = rows[0][1] if rows else session.scalar(counted) or 0
        return AccountPage([account for account, _ in rows], total, page, per_page)
    total = session.scalar(counted) or 0
    if offset >= total:
        return AccountPage([], total, page, per_page)
    return AccountPage(list(session.scalars(query.offset(offset))), total, page, per_page)


def delegated_admins(
    session: Session, structure: Structure, portal: Portal, *, now: datetime
) -> list[Administrator]:
    """R9: who administers (structure, portal) through another portal at `now` — shown as
    « Administrateur (via SOLTÉA) » — with the source admin account their right lapses with."""
    admins = policies.administrators(session, structure, portal, now=now)
    return [admin for admin in admins if admin.via is not None]
