"""The few repairs support is asked for (R11): send an invitation again, lift a sign-in lock,
renew an account. Each is the hub's own action run by the operator (`SupportOperator`, which
the actions let through like any `System` caller: the console checked the role), audited under
the operator's name in the caller's transaction; none commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlalchemy.orm import Session

from hub import throttle
from hub.accounts import invitations, services
from hub.accounts.models import Account, Invitation
from hub.actors import SupportOperator
from hub.audit.services import record
from hub.errors import NotFound
from hub.single_use_links import SingleUseLinks
from hub.support.search import find_person, lock_keys
from hub.users.models import User

ROW_ID_MAX = 2**31 - 1

INVITATION_NOT_FOUND = "Invitation introuvable."
ACCOUNT_NOT_FOUND = "Compte introuvable."
PERSON_NOT_FOUND = "Personne introuvable."
M = TypeVar("M", Account, Invitation)


def resend_invitation(
    session: Session,
    invitation_id: int,
    *,
    by: SupportOperator,
    links: SingleUseLinks,
    now: datetime,
) -> Invitation:
    """« Renvoyer l'invitation »: a new link, valid for the invitation's full period; the
    earlier ones stop working. A closed invitation is refused (`InvitationClosed`)."""
    invitation = _by_id(session, Invitation, invitation_id, INVITATION_NOT_FOUND)
    return invitations.send_again(session, invitation, by=by, links=links, now=now)


def renew_account(
    session: Session, account_id: int, *, by: SupportOperator, now: datetime
) -> Account:
    """R4, as an administrator would: `max(now, expires_at) + validity`, the holder told."""
    account = _by_id(session, Account, account_id, ACCOUNT_NOT_FOUND)
    return services.renew(session, account, by=by, now=now)


def unlock(session: Session, username: str, *, by: SupportOperator, now: datetime) -> User:
    """Lifts a person's sign-in lock (`hub.throttle`): the failures counted against their
    identifiant and their e-mail address are forgotten; those counted against an address are
    not (they protect every identifiant from one machine)."""
    user = find_person(session, username)
    if user is None:
        raise NotFound(PERSON_NOT_FOUND)
    locked_until = throttle.refused_until(session, lock_keys(user), now=now)
    for key in lock_keys(user):
        throttle.clear(session, key)
    record(
        session,
        actor=by,
        action="support.unlock",
        now=now,
        target=user,
        before={"locked_until": locked_until.isoformat() if locked_until else None},
    )
    return user


def _by_id(session: Session, model: type[M], row_id: int, message: str) -> M:
    row = session.get(model, row_id) if 0 < row_id <= ROW_ID_MAX else None
    if row is None:
        raise NotFound(message)
    return row
