"""What an administrator names in a call — a structure and a portal, a structure, accounts by
id, an invitation — and the one check of what they do with it (R2, R9).

The look-ups find things by their keys: « not found » when nothing has that key. The check,
`authorise`, is made once per action, by the hub function that acts (`hub.accounts.services`,
`hub.accounts.invitations`, `hub.accounts.listing`), as its first step:
- a `System` caller (command line, support console, demo loader) passes;
- from a portal's « Administration » (`from_portal`: the admin API's calling portal), whatever
  lies outside the person's reach is « not found », exactly like what does not exist: an admin
  learns nothing of the structures, portals, accounts or invitations they do not manage. Whether
  they have an « Administration » there at all is asked once before (R15, `idp.api.admin`);
- otherwise a person who does not administer the pair is refused, and the refusal audited
  (`NotAllowed`, written by `hub.transactions.unit_of_work`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, select, true
from sqlalchemy.orm import Session

from hub.accounts import policies
from hub.accounts.models import Account, Invitation
from hub.actors import Actor, System
from hub.audit.services import refusal
from hub.errors import NotFound
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.models import User

SELECTION_MAX = 500  # « Renouveler la sélection »: the most accounts one request names
ROW_ID_MAX = 2**31 - 1  # ids are 32-bit integers: a larger one names nothing
MATRICULE_MAX = 20
PORTAL_CODE_MAX = 32

PAIR_NOT_FOUND = "Vous n'administrez pas cette structure sur ce portail."
STRUCTURE_NOT_FOUND = "Vous n'administrez pas cette structure."
ACCOUNT_NOT_FOUND = "Compte introuvable."
INVITATION_NOT_FOUND = "Invitation introuvable."

# What is « not found » when out of reach, named as its look-up names it.
_NOT_FOUND = {Account: ACCOUNT_NOT_FOUND, Invitation: INVITATION_NOT_FOUND}

_STRUCTURE = select(Structure).where(Structure.matricule == bindparam("matricule"))
_PAIR = (  # both in one statement: a structure and a portal, each found by its key or not
    select(Structure, Portal)
    .join(Portal, true())
    .where(Structure.matricule == bindparam("matricule"), Portal.code == bindparam("code"))
)


def authorise(
    session: Session,
    by: Actor,
    structure: Structure,
    portal: Portal,
    *,
    now: datetime,
    action: str,
    target: Account | Invitation | None = None,
    from_portal: Portal | None = None,
) -> None:
    """The one check of an administrator's `action` on (structure, portal) (R2, R9; see the
    module docstring): « not found » from a portal's « Administration », else a refusal audited
    as `action`. One query."""
    if isinstance(by, System):
        return
    if policies.administers(session, by, structure, portal, now=now, from_portal=from_portal):
        return
    if from_portal is not None:
        raise NotFound(_NOT_FOUND.get(type(target), PAIR_NOT_FOUND))
    raise refusal(by, action, structure=structure, portal=portal, target=target)


def pair(session: Session, matricule: str, portal_code: str) -> tuple[Structure, Portal]:
    """The structure and portal named in a URL; `NotFound` when either does not exist."""
    if not (_plausible_matricule(matricule) and _plausible_code(portal_code)):
        raise NotFound(PAIR_NOT_FOUND)
    found = session.execute(_PAIR, {"matricule": matricule, "code": portal_code}).first()
    if found is None:
        raise NotFound(PAIR_NOT_FOUND)
    structure, portal = found
    return structure, portal


def administered_structure(
    session: Session, matricule: str, *, by: User, from_portal: Portal, now: datetime
) -> tuple[Structure, list[Portal]]:
    """A structure `by` administers on at least one portal `from_portal`'s « Administration »
    reaches, with those portals (that one first); otherwise `NotFound`. The look-up and its
    check in one: the grants say both."""
    structure = _structure(session, matricule)
    if structure is None:
        raise NotFound(STRUCTURE_NOT_FOUND)
    grants = policies.administered(session, by, now=now, from_portal=from_portal)
    portals = {g.portal.id: g.portal for g in grants if g.structure.id == structure.id}
    if not portals:
        raise NotFound(STRUCTURE_NOT_FOUND)
    return structure, sorted(portals.values(), key=lambda p: (p.id != from_portal.id, p.code))


# A matricule or code is checked before it is looked up: a string PostgreSQL would refuse (NUL)
# must be « not found », not an error.
def _plausible_matricule(matricule: str) -> bool:
    return matricule.isascii() and matricule.isdigit() and len(matricule) <= MATRICULE_MAX


def _plausible_code(code: str) -> bool:
    plain = code.replace("-", "").replace("_", "")
    return plain.isascii() and plain.isalnum() and len(code) <= PORTAL_CODE_MAX


def _structure(session: Session, matricule: str) -> Structure | None:
    if not _plausible_matricule(matricule):
        return None
    return session.scalar(_STRUCTURE, {"matricule": matricule})


def accounts(session: Session, ids: Collection[int]) -> list[Account]:
    """The accounts `ids`, once each, in that order; `NotFound` when one of them does not
    exist, whichever it is."""
    wanted = list(dict.fromkeys(ids))
    if any(not 0 < account_id <= ROW_ID_MAX for account_id in wanted):
        raise NotFound(ACCOUNT_NOT_FOUND)
    found = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(wanted)))}
    if len(found) != len(wanted):
        raise NotFound(ACCOUNT_NOT_FOUND)
    return [found[account_id] for account_id in wanted]


def invitation(session: Session, invitation_id: int) -> Invitation:
    """The invitation `invitation_id`; `NotFound` when there is none."""
    found = session.get(Invitation, invitation_id) if 0 < invitation_id <= ROW_ID_MAX else None
    if found is None:
        raise NotFound(INVITATION_NOT_FOUND)
    return found
