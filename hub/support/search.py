"""What the support console shows (R11): one search box over structures and people, a
structure's page — contracts, accounts on every portal, administrators direct and delegated
(R9), pending invitations, history — and a person's page with their accounts.

Support sees every structure and every person: nothing here is filtered by rights, and nothing
here changes anything (the repairs are `hub.support.repairs`). Administrators are derived by
`hub.accounts.policies.administrators`, never read from a copy, so a delegated right shown here
lapses exactly when R9 says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from hub import throttle
from hub.accounts import policies
from hub.accounts.history import HistoryEntry
from hub.accounts.listing import search_terms
from hub.accounts.models import Account, Invitation, InvitationStatus, Right, Role
from hub.audit.models import AuditEvent
from hub.clock import paris_date
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.structures.queries import structure_with_contracts
from hub.users.models import User

QUERY_MAX = 200
RESULTS_MAX = 20  # per kind: a search is refined, not paged
HISTORY_PER_PAGE = 25
HISTORY_PAGES_MAX = 100_000  # a larger page number names nothing (and overflows an OFFSET)
DIGITS_ONLY = str.maketrans("", "", " .-")


@dataclass(frozen=True)
class AccountLine:
    """An account as support reads it; `via` is the source portal when its holder also
    administers this pair by delegation (R9: « Administrateur (via SOLTÉA) »)."""

    account: Account
    via: Portal | None

    @property
    def role_label(self) -> str:
        if self.account.role is Role.ADMIN:
            return "Administrateur"
        if self.via is not None:
            return f"Administrateur (via {self.via.name})"
        return "Utilisateur"

    @property
    def rights_label(self) -> str:
        if self.account.has_right(Right.DATA_EXCHANGE):
            return "Transmettre et consulter les données"
        return "Aucun droit"

    def is_expired(self, now: datetime) -> bool:
        return self.account.is_expired(now)

    @property
    def expiry(self) -> str:
        return paris_date(self.account.expires_at)


@dataclass(frozen=True)
class PortalView:
    """One portal of a structure: its contract (None: accounts without a contract any more),
    accounts, administrators (direct first, then delegated) and pending invitations."""

    portal: Portal
    contract_number: str | None
    accounts: list[AccountLine]
    administrators: list[policies.Administrator]
    invitations: list[Invitation]


@dataclass(frozen=True)
class StructureView:
    structure: Structure
    portals: list[PortalView]


@dataclass(frozen=True)
class History:
    lines: list[HistoryEntry]
    total: int
    page: int
    per_page: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total


@dataclass(frozen=True)
class PersonView:
    user: User
    accounts: list[AccountLine]
    # R9: the pairs they administer through another portal, where they may hold no account
    delegated: list[policies.Grant]
    locked_until: datetime | None  # a sign-in lock (`hub.throttle`) support may lift


@dataclass(frozen=True)
class Results:
    query: str
    structures: list[StructureView]
    people: list[PersonView]

    @property
    def empty(self) -> bool:
        return not self.structures and not self.people


def search(session: Session, query: str, *, now: datetime) -> Results:
    """Structures by matricule, SIRET or name; people by identifiant, e-mail or name. Exact
    keys (matricule, SIRET, identifiant, e-mail) as typed; names by every word, case- and
    accent-insensitively for people."""
    query = "".join(char for char in query[:QUERY_MAX] if char.isprintable()).strip()
    if not query:
        return Results(query, [], [])
    structures = [
        structure_view(session, structure, now=now) for structure in _structures(session, query)
    ]
    people = [person_view(session, user, now=now) for user in _people(session, query)]
    return Results(query, structures, people)


def _structures(session: Session, query: str) -> list[Structure]:
    compact = query.translate(DIGITS_ONLY)
    words = [word for word in query.split() if word]
    by_name = and_(*(Structure.name.icontains(word, autoescape=True) for word in words))
    statement = (
        select(Structure)
        .where(or_(Structure.matricule == query, Structure.siret == compact, by_name))
        .order_by(Structure.name, Structure.matricule)
        .limit(RESULTS_MAX)
    )
    return list(session.scalars(statement))


def _people(session: Session, query: str) -> list[User]:
    lowered = query.lower()
    terms = search_terms(query)
    by_name = and_(*(User.search_text.contains(term, autoescape=True) for term in terms))
    conditions = [User.username == lowered, User.email == lowered]
    if terms:
        conditions.append(by_name)
    statement = (
        select(User)
        .where(or_(*conditions))
        .order_by(User.last_name, User.first_name, User.username)
        .limit(RESULTS_MAX)
    )
    return list(session.scalars(statement))


def find_structure(session: Session, matricule: str) -> Structure | None:
    if not _plausible(matricule, 20):
        return None
    return structure_with_contracts(session, matricule)


def find_person(session: Session, username: str) -> User | None:
    if not _plausible(username, 64):
        return None
    return session.scalar(select(User).where(User.username == username.lower()))


def _plausible(key: str, limit: int) -> bool:
    """Whether `key` could be a stored identifier (PostgreSQL cannot even compare a NUL)."""
    return 0 < len(key) <= limit and key.isprintable()


def structure_view(session: Session, structure: Structure, *, now: datetime) -> StructureView:
    """The structure on every portal where it holds a contract or accounts."""
    accounts = session.scalars(
        select(Account)
        .where(Account.structure_id == structure.id)
        .order_by(Account.portal_id, Account.role, Account.id)
    ).all()
    invitations = session.scalars(
        select(Invitation)
        .where(
            Invitation.structure_id == structure.id,
            Invitation.status == InvitationStatus.PENDING,
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    ).all()
    portals = {contract.portal_id: contract.portal for contract in structure.contracts}
    portals |= {account.portal_id: account.portal for account in accounts}
    views = []
    for portal in sorted(portals.values(), key=lambda p: p.name):
        contract = structure.contract_for(portal)
        admins = policies.administrators(session, structure, portal, now=now)
        via = {admin.user.id: admin.via for admin in admins if admin.via is not None}
        views.append(
            PortalView(
                portal=portal,
                contract_number=contract.number if contract is not None else None,
                accounts=[
                    AccountLine(account, via.get(account.user_id))
                    for account in accounts
                    if account.portal_id == portal.id
                ],
                administrators=admins,
                invitations=[i for i in invitations if i.portal_id == portal.id],
            )
        )
    return StructureView(structure, views)


def person_view(session: Session, user: User, *, now: datetime) -> PersonView:
    """A person's accounts on every structure and portal, what they administer by delegation,
    and whether their sign-in is locked."""
    lines = []
    for account in sorted(user.accounts, key=lambda a: (a.structure.name, a.portal.name)):
        via = None
        if account.role is not Role.ADMIN:
            admins = policies.administrators(session, account.structure, account.portal, now=now)
            via = next((a.via for a in admins if a.user.id == user.id), None)
        lines.append(AccountLine(account, via))
    grants = policies.administered(session, user, now=now)
    delegated = [grant for grant in grants if grant.via is not None]
    return PersonView(user, lines, delegated, locked_until(session, user, now=now))


def lock_keys(user: User) -> tuple[str, str]:
    """The sign-in throttle keys of a person: they sign in by identifiant or by e-mail."""
    return throttle.user_key(user.username), throttle.user_key(user.email)


def locked_until(session: Session, user: User, *, now: datetime) -> datetime | None:
    return throttle.refused_until(session, lock_keys(user), now=now)


def history(session: Session, structure: Structure, *, page: int) -> History:
    """The structure's audit events, newest first: every action on it, whoever acted, refused
    attempts included (support reads the whole log, not an administrator's « Historique »)."""
    page = min(max(1, page), HISTORY_PAGES_MAX)
    condition = AuditEvent.structure_id == structure.id
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(condition)) or 0
    rows = session.execute(
        select(AuditEvent, User)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(condition)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(HISTORY_PER_PAGE)
        .offset((page - 1) * HISTORY_PER_PAGE)
    )
    lines = [HistoryEntry(event, person) for event, person in rows]
    return History(lines, total, page, HISTORY_PER_PAGE)
