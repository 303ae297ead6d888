"""What a person holds on one portal, as the OpenID Connect provider sees it: the `accounts`
claim and R5's decision at the portal's door (and again at every refresh).

One query reads the person's own accounts on the portal together with the admin accounts that
make them a delegated admin there (R9: an admin of S on a delegation source, S holding a
contract for the portal, the source account still valid). Delegated rights are derived with
R9's one clause (`hub.accounts.policies.admin_by_delegation`), never stored.

Per structure, the person gets one entry:
- a valid own account: its rights and expiry; its role, raised to admin (`via` the source
  portal) when the person is an admin there by delegation only;
- otherwise a delegated admin right: role admin, `via` the source portal, no rights of its own,
  the expiry of the source admin account;
- otherwise an expired own account, shown as expired.

R5: the door opens when at least one entry is not expired. A person whose entries are all
expired is refused with `AccountExpired` (`ACCOUNT_EXPIRED`, DESIGN.md's sentence); a person
without any entry with `NoAccount`. `decide` is that rule, and the only copy of it, on two
facts read by one statement (`admission_facts`): `check_admission` asks them alone; the
authorization endpoint asks through `admit` (which audits a refusal); the code exchange and
every refresh read them with the code or the token (`hub.oidc.tokens`), one statement fewer on
their hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, raiseload

import hub.models  # noqa: F401 - statements are built at import: every mapper must exist
from hub.accounts.models import Account, Right, Role
from hub.accounts.policies import admin_by_delegation
from hub.audit.services import record
from hub.errors import AccountExpired, NoAccount, NotAdmitted
from hub.portals.models import Portal, PortalLike
from hub.structures.models import Structure
from hub.users.models import User

# R5, exactly as DESIGN.md words it (held by the error): imported wherever it is shown.
ACCOUNT_EXPIRED = AccountExpired.message
# The audit log's actions for a refusal: at the door, and at the code exchange.
AUTHORIZE_REFUSED = "oidc.authorize.refused"
EXCHANGE_REFUSED = "oidc.token.refused"


@dataclass(frozen=True)
class PortalAccount:
    """One structure the person belongs to on the portal (see the module docstring)."""

    structure: Structure
    role: Role
    via: Portal | None  # source portal of a delegated admin role (R9)
    rights: frozenset[Right]
    expires_at: datetime
    expired: bool


@dataclass(frozen=True)
class PortalAccess:
    portal: Portal
    accounts: list[PortalAccount]


@dataclass(frozen=True)
class AdmissionFacts:
    """R5's two facts about a person on a portal, read by `admission_facts`' columns: whether
    an account lets them in, and whether they hold one of their own there at all."""

    admitted: bool
    has_own_account: bool


@dataclass(frozen=True)
class Admission:
    """R5 let the person in: `user_id` may enter `portal` at `at`."""

    user_id: int
    portal: PortalLike
    at: datetime


def _held(
    user_id: ColumnElement[int], portal_id: BindParameter[int], now: BindParameter[datetime]
) -> ColumnElement[bool]:
    """Accounts that place their holder on the portal: any own account there (valid or not),
    and the valid admin accounts that make them a delegated admin there (R9)."""
    return and_(
        Account.user_id == user_id,
        or_(Account.portal_id == portal_id, admin_by_delegation(portal_id, now)),
    )


# Built once: on the hot path, building a statement costs several times more than running it.
_USER, _PORTAL, _NOW = bindparam("user_id"), bindparam("portal_id"), bindparam("now")
_HELD = (
    select(Account)
    .options(raiseload(Account.user))
    .where(_held(_USER, _PORTAL, _NOW))
    .order_by(Account.id)
)


def admission_facts(user_id: ColumnElement[int]) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    """R5's two facts about the person `user_id` — a bound parameter, or a column of the query
    these join, so that the code exchange and the refresh grant learn them with the code or
    token they read, in the same statement — on the portal bound as `portal_id` at `now`:
    whether an account lets them in (`admitted`), and whether they hold one of their own there
    at all (`has_own_account`). `decide` turns them into R5's answer."""
    return (
        exists().where(_held(user_id, _PORTAL, _NOW), Account.expires_at > _NOW).label("admitted"),
        exists()
        .where(Account.user_id == user_id, Account.portal_id == _PORTAL)
        .label("has_own_account"),
    )


_DECISION = select(*admission_facts(_USER))


def facts_of(row: Any) -> AdmissionFacts:
    """The facts from a row that selected `admission_facts`' columns."""
    return AdmissionFacts(bool(row.admitted), bool(row.has_own_account))


def decide(user_id: int, portal: PortalLike, facts: AdmissionFacts, *, now: datetime) -> Admission:
    """R5 from its two facts: admitted, or `AccountExpired`, or `NoAccount`, raised."""
    if facts.admitted:
        return Admission(user_id, portal, now)
    if facts.has_own_account:
        raise AccountExpired()
    raise NoAccount(portal.name)


def check_admission(
    session: Session, user_id: int, portal: PortalLike, *, now: datetime
) -> Admission:
    """R5, the person at the portal's door (module docstring). One query and no objects built,
    as it runs on the hot path. Audits nothing: `admit` does, at the door."""
    params = {"user_id": user_id, "portal_id": portal.id, "now": now}
    facts = facts_of(session.execute(_DECISION, params).one())
    return decide(user_id, portal, facts, now=now)


def admit(
    session: Session,
    user_id: int,
    portal: PortalLike,
    *,
    now: datetime,
    client: str,
    facts: AdmissionFacts | None = None,
) -> Admission:
    """R5 at the authorization endpoint, for `client` (its `client_id`), on the `facts` read
    with the person's session, or read here: the admission, or the refusal raised once its
    audit event (`oidc.authorize.refused`) is added to the caller's transaction, which the
    caller commits."""
    try:
        if facts is None:
            return check_admission(session, user_id, portal, now=now)
        return decide(user_id, portal, facts, now=now)
    except NotAdmitted as refused:
        audit_refusal(
            session,
            refused,
            person=session.get_one(User, user_id),
            portal=portal,
            client=client,
            now=now,
            action=AUTHORIZE_REFUSED,
        )
        raise


def audit_refusal(
    session: Session,
    refused: NotAdmitted,
    *,
    person: User,
    portal: PortalLike,
    client: str,
    now: datetime,
    action: str,
) -> None:
    """The audit event of an R5 refusal, at the authorization endpoint (`admit`) or at the
    code exchange: the person, the portal, the client and the refusal's code as its reason."""
    record(
        session,
        actor=person,
        action=action,
        now=now,
        portal=portal,
        target=person,
        after={"reason": refused.code, "client": client},
    )


def is_expired_on(session: Session, user_id: int, portal: PortalLike, *, now: datetime) -> bool:
    """Whether R5 refuses the person on `portal` because their accounts there expired (not
    because they hold none): what « Prévenir mon administrateur » is for."""
    try:
        check_admission(session, user_id, portal, now=now)
    except AccountExpired:
        return True
    except NoAccount:
        return False  # refused too, but there is nothing to renew
    return False


def portal_access(session: Session, user_id: int, portal: Portal, *, now: datetime) -> PortalAccess:
    """The person's accounts on `portal` at `now`, own and delegated, in one query."""
    params = {"user_id": user_id, "portal_id": portal.id, "now": now}
    rows = session.scalars(_HELD, params).all()
    own = {a.structure_id: a for a in rows if a.portal_id == portal.id}
    delegated: dict[int, Account] = {}
    for account in rows:  # the longest-lasting source admin account, when there are several
        if account.portal_id != portal.id:
            known = delegated.get(account.structure_id)
            if known is None or account.expires_at > known.expires_at:
                delegated[account.structure_id] = account
    entries = [
        _entry(own.get(structure_id), delegated.get(structure_id), now)
        for structure_id in {**own, **delegated}
    ]
    entries.sort(key=lambda e: (e.structure.name, e.structure.matricule))
    return PortalAccess(portal, entries)


def _entry(own: Account | None, source: Account | None, now: datetime) -> PortalAccount:
    if own is not None and not own.is_expired(now):
        if own.is_admin or source is None:
            return PortalAccount(own.structure, own.role, None, own.rights, own.expires_at, False)
        return PortalAccount(
            own.structure, Role.ADMIN, source.portal, own.rights, own.expires_at, False
        )
    if source is not None:
        return PortalAccount(
            source.structure, Role.ADMIN, source.portal, frozenset(), source.expires_at, False
        )
    assert own is not None  # a structure is listed only when one of the two exists
    return PortalAccount(own.structure, own.role, None, own.rights, own.expires_at, True)
