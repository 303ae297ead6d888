"""Who administers what (R2, R9, R15), derived from accounts and delegation rules at query time.

Words, as DESIGN.md uses them: a person *administers* structure S on portal P when they hold a
valid admin account of S on P (R2, directly), or a valid admin account of S on a portal Q with a
delegation rule Q → P while S holds a contract for P (R9, by delegation from Q: Q is the source
portal, P the target portal). Delegation is one hop: rules are not chained. In a portal's
« Administration » an admin works on that portal and on the portals it delegates to.

- `administers(person, S, P)`: R2, R9 — whether the person administers S on P; with
  `from_portal`, also from that portal's « Administration » (R9's portal filter).
- `administers_from(person, portal)`: R15 — whether the person has an « Administration » on
  that portal at all: administers some structure on it or on a portal it delegates to.
- `administered(person)`: R2, R9 — the person's `Grant`s, every (S, P) they administer, with
  the source portal of a delegated one; with `from_portal`, those of that « Administration ».
- `administrators(S, P)`: R9, R10 — the `Administrator`s of (S, P), direct ones first (the
  first admin first: R10 names them), then delegated ones.

Nothing here is stored and nothing here refuses: a delegated right exists exactly while the admin
account it comes from is valid, so an expired, demoted or deleted SOLTÉA admin loses
Certificateurs at once. The hub function that acts checks, once (`hub.accounts.reach.authorise`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    exists,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased, selectinload

import hub.models  # noqa: F401 - statements are built at import: every mapper must exist
from hub.accounts.models import Account, Role
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
class Administrator:
    """A person administering a (structure, portal): `via` is the source portal of a delegated
    right (R9: « Administrateur (via SOLTÉA) »), None for a direct one; `account` is the admin
    account the right comes from and lapses with."""

    user: User
    via: Portal | None
    account: Account


def admin_by_delegation(
    portal_id: int | BindParameter[int], now: datetime | BindParameter[datetime]
) -> ColumnElement[bool]:
    """R9 as a clause on `Account`: the valid admin accounts on a source portal of a delegation
    rule towards `portal_id`, of a structure holding a contract for it. Their holders administer
    their structure on that portal by delegation (and enter it: `hub.oidc.access`)."""
    delegation_sources = select(DelegationRule.source_portal_id).where(
        DelegationRule.target_portal_id == portal_id
    )
    has_target_contract = exists().where(
        Contract.structure_id == Account.structure_id, Contract.portal_id == portal_id
    )
    return and_(
        Account.role == Role.ADMIN,
        Account.expires_at > now,
        Account.portal_id.in_(delegation_sources),
        has_target_contract,
    )


def _administering(
    structure_id: int | BindParameter[int],
    portal_id: int | BindParameter[int],
    now: datetime | BindParameter[datetime],
) -> ColumnElement[bool]:
    """The valid admin accounts that make their holder administer (structure, portal): direct
    ones (R2), and those that do by delegation (R9)."""
    direct = and_(
        Account.portal_id == portal_id, Account.role == Role.ADMIN, Account.expires_at > now
    )
    return and_(
        Account.structure_id == structure_id,
        or_(direct, admin_by_delegation(portal_id, now)),
    )


# Asked at every administration call: built once (building a statement costs more than running it).
_USER_ID = bindparam("user_id", type_=Integer)
_STRUCTURE_ID = bindparam("structure_id", type_=Integer)
_PORTAL_ID = bindparam("portal_id", type_=Integer)
_FROM_PORTAL_ID = bindparam("from_portal_id", type_=Integer)
_NOW = bindparam("now")
_ADMINISTERS = exists().where(
    Account.user_id == _USER_ID, _administering(_STRUCTURE_ID, _PORTAL_ID, _NOW)
)
_REACHED = or_(  # R9: the portal is the « Administration »'s own, or one it delegates to
    _PORTAL_ID == _FROM_PORTAL_ID,
    exists().where(
        DelegationRule.source_portal_id == _FROM_PORTAL_ID,
        DelegationRule.target_portal_id == _PORTAL_ID,
    ),
)
_ADMINISTERS_ANYWHERE = select(_ADMINISTERS)
_ADMINISTERS_FROM_PORTAL = select(and_(_REACHED, _ADMINISTERS))


def administers(
    session: Session,
    person: User,
    structure: Structure,
    portal: Portal,
    *,
    now: datetime,
    from_portal: Portal | None = None,
) -> bool:
    """R2, R9: whether `person` administers `structure` on `portal` at `now`, directly or by
    delegation; with `from_portal`, also whether `portal` is one that portal's « Administration »
    reaches (itself, or a portal it delegates to). One query."""
    parameters = {"user_id": person.id, "structure_id": structure.id, "portal_id": portal.id}
    if from_portal is None:
        return bool(session.scalar(_ADMINISTERS_ANYWHERE, parameters | {"now": now}))
    parameters |= {"from_portal_id": from_portal.id, "now": now}
    return bool(session.scalar(_ADMINISTERS_FROM_PORTAL, parameters))


def _administers_from() -> Select[tuple[bool]]:
    """A valid admin account on the portal or on one it delegates to, or on a portal delegating
    to one of those where the structure holds a contract (R9)."""
    portal_id = bindparam("portal_id", type_=Integer)
    leading = aliased(DelegationRule)  # the rules from the portal, apart from the joined one
    targets = select(leading.target_portal_id).where(leading.source_portal_id == portal_id)
    delegated = exists().where(
        DelegationRule.source_portal_id == Account.portal_id,
        or_(
            DelegationRule.target_portal_id == portal_id,
            DelegationRule.target_portal_id.in_(targets),
        ),
        Contract.structure_id == Account.structure_id,
        Contract.portal_id == DelegationRule.target_portal_id,
    )
    direct = or_(Account.portal_id == portal_id, Account.portal_id.in_(targets))
    return select(
        exists().where(
            Account.user_id == bindparam("user_id"),
            Account.role == Role.ADMIN,
            Account.expires_at > bindparam("now"),
            or_(direct, delegated),
        )
    )


_ADMINISTERS_FROM = _administers_from()


def administers_from(session: Session, person: User, portal: Portal, *, now: datetime) -> bool:
    """R15: whether `person` has an « Administration » on `portal` — whether
    `administered(from_portal=portal)` has anything for them — in one query."""
    parameters = {"user_id": person.id, "portal_id": portal.id, "now": now}
    return bool(session.scalar(_ADMINISTERS_FROM, parameters))


def administered(
    session: Session, person: User, *, now: datetime, from_portal: Portal | None = None
) -> list[Grant]:
    """R2, R9: every (structure, portal) `person` administers at `now`, direct rights before
    delegated ones; with `from_portal`, only those that portal's « Administration » reaches."""
    accounts = session.scalars(
        select(Account)
        .where(Account.user_id == person.id, Account.role == Role.ADMIN, Account.expires_at > now)
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
    found = grants.values()
    if from_portal is not None:
        reached = {from_portal.id} | {
            rule.target_portal_id for rule in rules if rule.source_portal_id == from_portal.id
        }
        found = [grant for grant in found if grant.portal.id in reached]
    return sorted(found, key=lambda g: (g.via is not None, g.portal.code, g.structure.name))


def administrators(
    session: Session, structure: Structure, portal: Portal, *, now: datetime
) -> list[Administrator]:
    """R9, R10: the people administering (structure, portal) at `now`: direct admins first (the
    first admin before the others), then delegated ones. R10 names the first of them."""
    accounts = session.scalars(
        select(Account)
        .where(_administering(structure.id, portal.id, now))
        # The few admins' people by id: joined to the accounts, PostgreSQL would hash-join a
        # large structure's admins with every person, estimating many admins.
        .options(selectinload(Account.user))
    ).all()
    admins: dict[int, Administrator] = {}
    for account in accounts:
        via = None if account.portal_id == portal.id else account.portal
        known = admins.get(account.user_id)
        if known is None or (known.via is not None and via is None):
            admins[account.user_id] = Administrator(account.user, via, account)
    return sorted(
        admins.values(),
        key=lambda a: (a.via is not None, not a.account.is_first_admin, a.account.created_at),
    )
