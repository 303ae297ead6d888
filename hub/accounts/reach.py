"""What an administrator names in a call — a structure and a portal, a structure, accounts by
id — found only when it is in their reach from the portal they call from (R2, R9). Anything else
is « not found », exactly like what does not exist: an admin learns nothing of the structures,
portals or accounts they do not manage.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import bindparam, select, true
from sqlalchemy.orm import Session

from hub.accounts import policies
from hub.accounts.models import Account, Invitation
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

_STRUCTURE = select(Structure).where(Structure.matricule == bindparam("matricule"))
_PAIR = (  # both in one statement: a structure and a portal, each found by its key or not
    select(Structure, Portal)
    .join(Portal, true())
    .where(Structure.matricule == bindparam("matricule"), Portal.code == bindparam("code"))
)


def managed_pair(
    session: Session, matricule: str, portal_code: str, *, by: User, calling: Portal, now: datetime
) -> tuple[Structure, Portal]:
    """The structure and portal named in a URL, when `by` manages that pair from portal
    `calling` (R2, R9); otherwise `NotFound`, the same for a pair that does not exist."""
    if not (_plausible_matricule(matricule) and _plausible_code(portal_code)):
        raise NotFound(PAIR_NOT_FOUND)
    pair = session.execute(_PAIR, {"matricule": matricule, "code": portal_code}).first()
    if pair is None:
        raise NotFound(PAIR_NOT_FOUND)
    structure, portal = pair
    if not policies.administers(session, by, structure, portal, now=now, from_portal=calling):
        raise NotFound(PAIR_NOT_FOUND)
    return structure, portal


def managed_structure(
    session: Session, matricule: str, *, by: User, calling: Portal, now: datetime
) -> tuple[Structure, list[Portal]]:
    """A structure `by` manages on at least one portal reachable from `calling`, with those
    portals (the calling one first); otherwise `NotFound`."""
    structure = _structure(session, matricule)
    if structure is None:
        raise NotFound(STRUCTURE_NOT_FOUND)
    grants = policies.administered(session, by, now=now, from_portal=calling)
    portals = {g.portal.id: g.portal for g in grants if g.structure.id == structure.id}
    if not portals:
        raise NotFound(STRUCTURE_NOT_FOUND)
    return structure, sorted(portals.values(), key=lambda p: (p.id != calling.id, p.code))


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


def managed_accounts(
    session: Session, ids: Collection[int], *, by: User, calling: Portal, now: datetime
) -> list[Account]:
    """The accounts `ids`, in that order, when `by` manages every one of them from portal
    `calling` (R2, R9); otherwise `NotFound`, whichever id is foreign or missing, so that a
    selection reveals nothing of accounts outside the admin's reach."""
    wanted = list(dict.fromkeys(ids))
    if any(not 0 < account_id <= ROW_ID_MAX for account_id in wanted):
        raise NotFound(ACCOUNT_NOT_FOUND)
    found = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(wanted)))}
    if len(found) != len(wanted):
        raise NotFound(ACCOUNT_NOT_FOUND)
    pairs = {(a.structure_id, a.portal_id): a for a in found.values()}
    for account in pairs.values():
        if not policies.administers(
            session, by, account.structure, account.portal, now=now, from_portal=calling
        ):
            raise NotFound(ACCOUNT_NOT_FOUND)
    return [found[account_id] for account_id in wanted]


def managed_invitation(
    session: Session, invitation_id: int, *, by: User, calling: Portal, now: datetime
) -> Invitation:
    """An invitation of a pair `by` manages from portal `calling`; otherwise `NotFound`."""
    invitation = session.get(Invitation, invitation_id) if 0 < invitation_id <= ROW_ID_MAX else None
    if invitation is None or not policies.administers(
        session, by, invitation.structure, invitation.portal, now=now, from_portal=calling
    ):
        raise NotFound(INVITATION_NOT_FOUND)
    return invitation
