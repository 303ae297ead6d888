"""What a person holds on one portal, as the OpenID Connect provider sees it: the `accounts`
claim and R5's decision at the portal's door (and again at every refresh).

One query reads the person's own accounts on the portal together with the admin accounts that
make them a delegated admin there (R9: an admin of S on a delegation source, S holding a
contract for the portal, the source account still valid). Delegated rights are derived here,
as in `hub.accounts.policies`, never stored.

Per structure, the person gets one entry:
- a valid own account: its rights and expiry; its role, raised to admin (`via` the source
  portal) when the person is an admin there by delegation only;
- otherwise a delegated admin right: role admin, `via` the source portal, no rights of its own,
  the expiry of the source admin account;
- otherwise an expired own account, shown as expired.

R5: the door opens when at least one entry is not expired. A person whose entries are all
expired is refused with `ACCOUNT_EXPIRED`; a person without any entry has no account there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BindParameter, ColumnElement, and_, bindparam, exists, or_, select
from sqlalchemy.orm import Session, raiseload

import hub.models  # noqa: F401 - statements are built at import: every mapper must exist
from hub.accounts.models import Account, Right, Role
from hub.errors import AccountExpired, NoAccount
from hub.portals.models import DelegationRule, Portal
from hub.structures.models import Contract, Structure

# R5, exactly as DESIGN.md words it (held by the error): imported wherever it is shown.
ACCOUNT_EXPIRED = AccountExpired.message

EXPIRED = "account_expired"
NO_ACCOUNT = "no_account"


def no_account_message(portal_name: str) -> str:
    return NoAccount(portal_name).message


def refusal_sentence(refusal: str, portal_name: str) -> str:
    """What a person refused entry to a portal reads: R5's sentence, or that they have no
    account there."""
    return ACCOUNT_EXPIRED if refusal == EXPIRED else no_account_message(portal_name)


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

    @property
    def refusal(self) -> str | None:
        """None when the person may enter (R5), else `EXPIRED` or `NO_ACCOUNT`."""
        if any(not account.expired for account in self.accounts):
            return None
        return EXPIRED if self.accounts else NO_ACCOUNT


def _held(
    user_id: BindParameter[int], portal_id: BindParameter[int], now: BindParameter[datetime]
) -> ColumnElement[bool]:
    """Accounts that place their holder on the portal: any own account there (valid or not),
    and the valid admin accounts that make them a delegated admin there (R9)."""
    delegation_sources = select(DelegationRule.source_portal_id).where(
        DelegationRule.target_portal_id == portal_id
    )
    has_contract = exists().where(
        Contract.structure_id == Account.structure_id, Contract.portal_id == portal_id
    )
    return and_(
        Account.user_id == user_id,
        or_(
            Account.portal_id == portal_id,
            and_(
                Account.role == Role.ADMIN,
                Account.expires_at > now,
                Account.portal_id.in_(delegation_sources),
                has_contract,
            ),
        ),
    )


# Built once: on the hot path, building a statement costs several times more than running it.
_USER, _PORTAL, _NOW = bindparam("user_id"), bindparam("portal_id"), bindparam("now")
_HELD = (
    select(Account)
    .options(raiseload(Account.user))
    .where(_held(_USER, _PORTAL, _NOW))
    .order_by(Account.id)
)
_DECISION = select(
    exists().where(_held(_USER, _PORTAL, _NOW), Account.expires_at > _NOW),
    exists().where(Account.user_id == _USER, Account.portal_id == _PORTAL),
)


def refusal(session: Session, user_id: int, portal_id: int, *, now: datetime) -> str | None:
    """R5's decision alone, as `PortalAccess.refusal` gives it, for the hot path (every
    authorization and every refresh): one query, no objects built."""
    params = {"user_id": user_id, "portal_id": portal_id, "now": now}
    usable, has_own = session.execute(_DECISION, params).one()
    if usable:
        return None
    return EXPIRED if has_own else NO_ACCOUNT


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
