"""Who may administer what (R2, R9), derived from accounts and delegation rules at query time.

Nothing here is stored: a delegated right exists exactly while the admin account it comes from is
valid, so an expired, demoted or deleted SOLTÉA admin loses Certificateurs at once.
Delegation is one hop (`soltea → certificateurs`): rules are not chained.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

import hub.models  # noqa: F401 - statements are built at import: every mapper must exist
from hub.accounts.models import Account, Role
from hub.actors import Actor, System
from hub.audit.services import refusal
from hub.portals.models import DelegationRule, Portal
from hub.structures.models import Contract, Structure
from hub.users.models import User


@dataclass(frozen=True)
class Grant:
    """One (structure, portal) a person administers; `via` is the source portal of a delegated
    right (R9), None for a direct admin account. The right lapses at `expires_at`."""

    structure: Structure
    portal: Portal
    via: Portal | None
    expires_at: datetime


@dataclass(frozen=True)
class EffectiveAdmin:
    user: User
    via: Portal | None
    account: Account


def _admin_of_clause(
    structure_id: int | BindParameter[int],
    portal_id: int | BindParameter[int],
    now: datetime | BindParameter[datetime],
) -> ColumnElement[bool]:
    """Valid admin accounts that make someone an admin of (structure, portal): direct ones, and
    those on a delegation source when the structure holds a contract for the target."""
    delegation_sources = select(DelegationRule.source_portal_id).where(
        DelegationRule.target_portal_id == portal_id
    )
    has_target_contract = exists().where(
        Contract.structure_id == structure_id, Contract.portal_id == portal_id
    )
    return and_(
        Account.structure_id == structure_id,
        Account.role == Role.ADMIN,
        Account.expires_at > now,
        or_(
            Account.portal_id == portal_id,
            and_(Account.portal_id.in_(delegation_sources), has_target_contract),
        ),
    )


# Asked at every administration call: built once (building a statement costs more than running it).
_CAN_ADMINISTER = select(
    exists().where(
        Account.user_id == bindparam("user_id"),
        _admin_of_clause(bindparam("structure_id"), bindparam("portal_id"), bindparam("now")),
    )
)


def can_administer(
    session: Session, user: User, structure: Structure, portal: Portal, *, now: datetime
) -> bool:
    """R2, R9: whether `user` may manage the accounts of `structure` on `portal` at `now`."""
    parameters = {"user_id": user.id, "structure_id": structure.id, "portal_id": portal.id}
    return bool(session.scalar(_CAN_ADMINISTER, parameters | {"now": now}))


def effective_admins(
    session: Session, structure: Structure, portal: Portal, *, now: datetime
) -> list[EffectiveAdmin]:
    """The people administering (structure, portal) now: direct admins first (the first admin
    before the others), then delegated ones. R10 names the first of them."""
    accounts = session.scalars(
        select(Account)
        .where(_admin_of_clause(structure.id, portal.id, now))
        # The few admins' people by id: joined to the accounts, PostgreSQL would hash-join a
        # large structure's admins with every person, estimating many admins.
        .options(selectinload(Account.user))
    ).all()
    admins: dict[int, EffectiveAdmin] = {}
    for account in accounts:
        via = None if account.portal_id == portal.id else account.portal
        known = admins.get(account.user_id)
        if known is None or (known.via is not None and via is None):
            admins[account.user_id] = EffectiveAdmin(account.user, via, account)
    return sorted(
        admins.values(),
        key=lambda a: (a.via is not None, not a.account.is_first_admin, a.account.created_at),
    )


def administered(session: Session, user: User, *, now: datetime) -> list[Grant]:
    """Every (structure, portal) `user` may manage now, direct rights before delegated ones."""
    accounts = session.scalars(
        select(Account)
        .where(Account.user_id == user.id, Account.role == Role.ADMIN, Account.expires_at > now)
        .options(selectinload(Account.structure).selectinload(Structure.contracts))
    ).all()
    rules = session.scalars(select(DelegationRule)).all()
    grants: dict[tuple[int, int], Grant] = {}
    for account in accounts:
        grants[(account.structure_id, account.portal_id)] = Grant(
            account.structure, account.portal, None, account.expires_at
        )
    for account in accounts:
        for rule in rules:
            key = (account.structure_id, rule.target_portal_id)
            if rule.source_portal_id != account.portal_id or key in grants:
                continue
            if account.structure.contract_for(rule.target_portal) is not None:
                grants[key] = Grant(
                    account.structure, rule.target_portal, account.portal, account.expires_at
                )
    return sorted(
        grants.values(),
        key=lambda g: (g.via is not None, g.portal.code, g.structure.name),
    )


def require_admin_of(
    session: Session,
    actor: Actor,
    structure: Structure,
    portal: Portal,
    *,
    now: datetime,
    action: str,
    target: object | None = None,
) -> None:
    """Raises a refusal (audited by `unit_of_work`) unless `actor` administers the pair."""
    if isinstance(actor, System):
        return
    if not can_administer(session, actor, structure, portal, now=now):
        raise refusal(actor, action, structure=structure, portal=portal, target=target)


_REACHABLE = (
    select(Portal)
    .join(DelegationRule, DelegationRule.target_portal_id == Portal.id)
    .where(DelegationRule.source_portal_id == bindparam("calling_id"))
    .order_by(Portal.code)
)


def portals_reachable_from(session: Session, calling: Portal) -> list[Portal]:
    """R9 seen from one portal: an admin works there on the portal itself and on those it
    delegates to (SOLTÉA's « Administration » lists Certificateurs), the calling one first."""
    return [calling, *session.scalars(_REACHABLE, {"calling_id": calling.id})]


def administered_from(
    session: Session, user: User, calling: Portal, *, now: datetime
) -> list[Grant]:
    """The grants of `administered` that `user` may exercise from portal `calling`."""
    reachable = {portal.id for portal in portals_reachable_from(session, calling)}
    return [g for g in administered(session, user, now=now) if g.portal.id in reachable]


def _administers_from() -> Select[tuple[bool]]:
    """A valid admin account on a portal reachable from the calling one, or on a portal
    delegating to one of those where the structure holds a contract (R9)."""
    calling_id = bindparam("calling_id")
    leading = aliased(
        DelegationRule
    )  # the rules from the calling portal, apart from the joined one
    targets = select(leading.target_portal_id).where(leading.source_portal_id == calling_id)
    delegated = exists().where(
        DelegationRule.source_portal_id == Account.portal_id,
        or_(
            DelegationRule.target_portal_id == calling_id,
            DelegationRule.target_portal_id.in_(targets),
        ),
        Contract.structure_id == Account.structure_id,
        Contract.portal_id == DelegationRule.target_portal_id,
    )
    direct = or_(Account.portal_id == calling_id, Account.portal_id.in_(targets))
    return select(
        exists().where(
            Account.user_id == bindparam("user_id"),
            Account.role == Role.ADMIN,
            Account.expires_at > bindparam("now"),
            or_(direct, delegated),
        )
    )


_ADMINISTERS_FROM = _administers_from()


def administers_from(session: Session, user: User, calling: Portal, *, now: datetime) -> bool:
    """Whether `administered_from` has anything for `user`, in one query: a person for whom it
    is false is no admin from this portal at all."""
    parameters = {"user_id": user.id, "calling_id": calling.id, "now": now}
    return bool(session.scalar(_ADMINISTERS_FROM, parameters))


def manages_from(
    session: Session,
    user: User,
    structure: Structure,
    portal: Portal,
    calling: Portal,
    *,
    now: datetime,
) -> bool:
    """R2, R9: whether `user` manages (structure, portal) from portal `calling`. The API answers
    « not found » otherwise: an admin learns nothing of the structures, portals or accounts
    outside their reach, not even that they exist."""
    reachable = portal.id == calling.id or portal.id in {
        p.id for p in portals_reachable_from(session, calling)
    }
    return reachable and can_administer(session, user, structure, portal, now=now)
