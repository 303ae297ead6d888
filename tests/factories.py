"""Small builders for test data; each returns a flushed, persistent object."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import DEFAULT_RIGHTS, Account, Right, Role
from hub.clock import add_months
from hub.portals.models import DelegationRule, Portal
from hub.structures.models import Contract, Structure, StructureKind
from hub.users.models import Civility, User

_sequence = itertools.count(1)

PORTAL_NAMES = {"soltea": "SOLTÉA", "certificateurs": "Certificateurs"}


def make_portal(session: Session, code: str = "soltea", *, validity_months: int = 18) -> Portal:
    portal = session.scalar(select(Portal).filter_by(code=code))
    if portal is None:
        portal = Portal(
            code=code,
            name=PORTAL_NAMES.get(code, code.title()),
            validity_months=validity_months,
            base_url=f"http://127.0.0.1:{5000 + next(_sequence)}",
        )
        session.add(portal)
        session.flush()
    return portal


def make_delegation(session: Session, source: Portal, target: Portal) -> DelegationRule:
    rule = DelegationRule(source_portal=source, target_portal=target)
    session.add(rule)
    session.flush()
    return rule


def make_structure(
    session: Session,
    *,
    portals: tuple[Portal, ...] = (),
    matricule: str | None = None,
    name: str | None = None,
    kind: StructureKind = StructureKind.TRAINING_ORGANISATION,
) -> Structure:
    n = next(_sequence)
    structure = Structure(
        matricule=matricule or f"{900000 + n}",
        siret="10000010800017",
        name=name or f"Structure {n}",
        kind=kind,
    )
    session.add(structure)
    for portal in portals:
        structure.contracts.append(Contract(portal=portal, number=f"{portal.code[:3].upper()}-{n}"))
    session.flush()
    return structure


def make_user(
    session: Session, *, first_name: str = "Jeanne", last_name: str | None = None
) -> User:
    n = next(_sequence)
    last_name = last_name or f"Durand{n}"
    user = User(
        username=f"{first_name.lower()}.{last_name.lower()}",
        email=f"{first_name.lower()}.{last_name.lower()}@example.org",
        civility=Civility.MRS,
        first_name=first_name,
        last_name=last_name,
        email_verified=True,
    )
    session.add(user)
    session.flush()
    return user


def make_account(
    session: Session,
    *,
    now: datetime,
    structure: Structure,
    portal: Portal,
    user: User | None = None,
    role: Role = Role.USER,
    expires_in: timedelta | None = None,
    rights: frozenset[Right] = DEFAULT_RIGHTS,
    is_first_admin: bool = False,
) -> Account:
    """An account as the database would hold it; `expires_in` sets the expiry relative to
    `now` (negative: already expired), otherwise R3's validity from `now`."""
    expires_at = now + expires_in if expires_in is not None else add_months(now, 18)
    account = Account(
        user=user or make_user(session),
        structure=structure,
        portal=portal,
        role=role,
        rights=rights,
        is_first_admin=is_first_admin,
        created_at=min(now, expires_at - timedelta(days=548)),
        expires_at=expires_at,
    )
    session.add(account)
    session.flush()
    return account
