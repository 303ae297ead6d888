"""The invited person's side of « Créer un compte » (R2, R14, issue 12 §2): the link they were
mailed, and accepting it, which opens the account the administrator offered. Someone the hub
knows accepts signed in; someone new, or invited before choosing any password, by choosing one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.invitations import InvitationClosed, invitee_of
from hub.accounts.models import Account, Invitation, InvitationStatus
from hub.accounts.services import open_account
from hub.actors import System
from hub.audit.services import record, refusal
from hub.database import lock_row
from hub.errors import Conflict, LinkRefused
from hub.single_use_links import LinkProblem, SingleUseLinks
from hub.users.models import User
from hub.users.services import create_user

INVITATION = System("invitation")  # opens the account the person accepted
LINK_MESSAGES = {
    LinkProblem.INVALID: (
        "Ce lien d'invitation n'est pas valable : il est incomplet, a été remplacé par un plus "
        "récent ou l'invitation a été annulée. Demandez à votre administrateur de vous en "
        "renvoyer un."
    ),
    LinkProblem.EXPIRED: (
        "Ce lien d'invitation a expiré. Demandez à votre administrateur de vous renvoyer "
        "l'invitation."
    ),
    LinkProblem.USED: (
        "Cette invitation a déjà été acceptée : connectez-vous au portail avec votre identifiant."
    ),
}


class AddressNowKnown(Conflict):
    """A new person's address was given an identity since the page was shown."""

    code = "address_now_known"
    message = (
        "Cette adresse e-mail correspond désormais à un identifiant des portails : ouvrez de "
        "nouveau le lien de l'invitation et connectez-vous pour l'accepter."
    )


def open_link(session: Session, links: SingleUseLinks, token: str, *, now: datetime) -> Invitation:
    """The pending invitation a link names; `LinkRefused` when it opens nothing, carrying the
    invitation when one was found (not for a cancelled one, nor one whose person is gone)."""
    found = links.find(session, Invitation, token)
    if found is None:
        raise _refused(LinkProblem.INVALID)
    reference, invitation = found
    if invitation.status is InvitationStatus.ACCEPTED:
        raise _refused(LinkProblem.USED, invitation)
    if invitation.status is InvitationStatus.CANCELLED:
        raise _refused(LinkProblem.INVALID)
    if reference.is_expired(now) or invitation.is_expired(now):
        raise _refused(LinkProblem.EXPIRED, invitation)
    if invitee_of(session, invitation) is None and not invitation.names_a_new_person:
        raise _refused(LinkProblem.INVALID)
    return invitation


def _refused(problem: LinkProblem, invitation: Invitation | None = None) -> LinkRefused[Invitation]:
    return LinkRefused(problem, LINK_MESSAGES[problem], request=invitation)


def accept(
    session: Session,
    invitation_id: int,
    *,
    now: datetime,
    person: User | None = None,
    password_hash: str | None = None,
) -> Account:
    """Opens the invited account, in the caller's transaction (not committed), under a lock on
    the invitation so that it is accepted once. Either `person`, signed in, is the one the
    invitation reaches; or the person has no password yet and `password_hash` is the one they
    just chose — a new person is created then, from what the administrator typed, their address
    verified since the link reached it."""
    lock_row(session, Invitation.__table__, invitation_id)
    invitation = session.scalar(
        select(Invitation)
        .where(Invitation.id == invitation_id)
        .execution_options(populate_existing=True)
    )
    if invitation is None or invitation.status is not InvitationStatus.PENDING:
        raise InvitationClosed()
    invitee = invitee_of(session, invitation)
    if person is not None:
        if invitee is None or invitee.id != person.id:
            raise refusal(person, "account.invitation_accept", target=invitation)
    elif invitee is not None and invitee.password_hash is not None:
        raise AddressNowKnown()
    else:
        assert password_hash is not None, "someone without a password accepts by choosing one"
        invitee = _with_password(session, invitation, invitee, password_hash, now=now)
    account = _account(session, invitation, invitee, now=now)
    invitation.status = InvitationStatus.ACCEPTED
    invitation.closed_at = now
    invitation.account_id = account.id
    invitation.user_id = invitee.id
    record(
        session,
        actor=invitee,
        action="account.invitation_accepted",
        now=now,
        structure=invitation.structure,
        portal=invitation.portal,
        target=account,
        after={"invitation": invitation.id},
    )
    return account


def _account(session: Session, invitation: Invitation, user: User, *, now: datetime) -> Account:
    """The account the invitation offered; the one they hold already, if they have one there
    (opened since by another invitation)."""
    held = session.scalar(
        select(Account).filter_by(
            user_id=user.id, structure_id=invitation.structure_id, portal_id=invitation.portal_id
        )
    )
    if held is not None:
        return held
    return open_account(
        session,
        by=INVITATION,
        user=user,
        structure=invitation.structure,
        portal=invitation.portal,
        now=now,
        role=invitation.role,
        rights=invitation.rights,
        notify=False,  # they are looking at the page that says so
    )


def _with_password(
    session: Session,
    invitation: Invitation,
    user: User | None,
    password_hash: str,
    *,
    now: datetime,
) -> User:
    if user is None:
        user = create_user(
            session,
            by=INVITATION,
            email=invitation.invitee,
            first_name=invitation.first_name or "",
            last_name=invitation.last_name or "",
            now=now,
            civility=invitation.civility,
            service=invitation.service,
            mobile_phone=invitation.mobile_phone,
            landline_phone=invitation.landline_phone,
        )
    user.password_hash = password_hash
    user.email_verified = True  # the link reached that mailbox
    user.password_must_change = False
    return user
