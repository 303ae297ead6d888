"""Who may administer what (R2, R9), derived from accounts and delegation rules at query time.

Nothing here is stored: a delegated right exists exactly while the admin account it comes from is
valid, so an expired, demoted or deleted SOLTÉA admin loses Certificateurs at once.
Delegation is one hop (`soltea → certificateurs`): rules are not chained.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.orm import Session, selectinload

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


def _admin_of_clause(structure_id: int, portal_id: int, now: datetime) -> ColumnElement[bool]:
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


def can_administer(
    session: Session, user: User, structure: Structure, portal: Portal, *, now: datetime
) -> bool:
    """R2, R9: whether `user` may manage the accounts of `structure` on `portal` at `now`."""
    query = select(
        exists().where(Account.user_id == user.id, _admin_of_clause(structure.id, portal.id, now))
    )
    return bool(session.scalar(query))


def effective_admins(
    session: Session, structure: Structure, portal: Portal, *, now: datetime
) -> list[EffectiveAdmin]:
    """The people administering (structure, portal) now: direct admins first (the first admin
    before the others), then delegated ones. R10 names the first of them."""
    accounts = session.scalars(
        select(Account).where(_admin_of_clause(structure.id, portal.id, now))
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
