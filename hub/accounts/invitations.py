"""« Créer un compte » (R2, R14) as an invitation the person accepts (issue 12 §2).

An administrator names a person — by identifiant or e-mail address, or typed in anew with an
address — and chooses the role and the right. The hub answers with an `Invitation` that holds
only what the administrator typed, whatever the hub knows: whether the person exists, their
address, names or phones never reach the administrator, so that « Créer un compte » tells
nobody who has an identity. The person it reaches is told by mail; the account is opened when
they accept it (`hub.accounts.acceptance`): signed in and one click for someone the hub knows,
choosing a password for someone new. An identifiant the hub does not know reaches nobody: its
invitation waits, then expires, exactly like one whose mail went unread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import validation
from hub.accounts import mails, reach
from hub.accounts.models import (
    DEFAULT_RIGHTS,
    Account,
    Invitation,
    InvitationStatus,
    Right,
    Role,
)
from hub.actors import Actor
from hub.audit.services import record
from hub.errors import AlreadyExists, Conflict, InvalidField, NoContract
from hub.portals.models import Portal
from hub.single_use_links import SingleUseLinks, new_nonce
from hub.structures.models import Structure
from hub.users.models import User
from hub.users.services import CONTACT_FIELDS, clean_contact_details, find_user

INVITATION_DAYS = 7
LINK_PATH = "/invitation/"
INVITEE_MAX = 254
PENDING_SHOWN_MAX = 200

UNKNOWN_LOGIN = "Saisissez l'identifiant ou l'adresse e-mail de la personne."


class AlreadyInvited(Conflict):
    code = "already_invited"
    message = (
        "Une invitation est déjà en attente pour cette personne : renvoyez-la ou annulez-la "
        "depuis la liste des comptes."
    )


class InvitationClosed(Conflict):
    code = "invitation_closed"
    message = "Cette invitation a déjà été acceptée ou annulée."


def links(secret_key: str, public_url: str) -> SingleUseLinks:
    return SingleUseLinks(secret_key, public_url, LINK_PATH, "hub.accounts.invitation")


def invite(
    session: Session,
    *,
    by: Actor,
    structure: Structure,
    portal: Portal,
    now: datetime,
    links: SingleUseLinks,
    existing: str | None = None,
    person: Mapping[str, Any] | None = None,
    role: Role = Role.USER,
    rights: Iterable[Right] = DEFAULT_RIGHTS,
    from_portal: Portal | None = None,
) -> Invitation:
    """R2: invites `existing` (an identifiant or an address) or `person` (an address, names and
    contact details, all checked as a new person's would be, even when the address is known)
    to an account of `structure` on `portal`, and mails whom it reaches."""
    reach.authorise(
        session, by, structure, portal, now=now, action="account.invite", from_portal=from_portal
    )
    if structure.contract_for(portal) is None:
        raise NoContract()
    if existing is not None:
        invitee, details = _typed_login(existing), {}
    else:
        details = _typed_person(person or {})
        invitee = details.pop("email")
    _refuse_repeats(session, structure, portal, invitee, now=now)
    invitation = Invitation(
        nonce=new_nonce(),
        structure=structure,
        portal=portal,
        role=role,
        rights=frozenset(rights),
        invitee=invitee,
        invited_by_id=by.id if isinstance(by, User) else None,
        created_at=now,
        **details,
    )
    session.add(invitation)
    _send(session, invitation, by=by, links=links, now=now)
    _audit(session, by, "account.invite", invitation, now=now)
    return invitation


def send_again(
    session: Session,
    invitation: Invitation,
    *,
    by: Actor,
    links: SingleUseLinks,
    now: datetime,
    from_portal: Portal | None = None,
) -> Invitation:
    """« Renvoyer l'invitation »: a new link, valid `INVITATION_DAYS` from now; earlier links
    stop working."""
    _require_pending(
        session, invitation, by=by, now=now, action="account.invite", from_portal=from_portal
    )
    invitation.nonce = new_nonce()
    _send(session, invitation, by=by, links=links, now=now)
    _audit(session, by, "account.invitation_resent", invitation, now=now)
    return invitation


def cancel(
    session: Session,
    invitation: Invitation,
    *,
    by: Actor,
    now: datetime,
    from_portal: Portal | None = None,
) -> None:
    """« Annuler l'invitation »: its link stops working; nothing was ever opened."""
    _require_pending(
        session,
        invitation,
        by=by,
        now=now,
        action="account.invitation_cancel",
        from_portal=from_portal,
    )
    invitation.status = InvitationStatus.CANCELLED
    invitation.closed_at = now
    _audit(session, by, "account.invitation_cancelled", invitation, now=now)


def pending(
    session: Session,
    structure: Structure,
    portal: Portal,
    *,
    by: Actor,
    now: datetime,
    from_portal: Portal | None = None,
) -> list[Invitation]:
    """« Invitation envoyée »: the invitations of a pair still waiting for their person,
    expired ones included (they can be sent again), newest first; for its administrators."""
    reach.authorise(
        session,
        by,
        structure,
        portal,
        now=now,
        action="account.invitation_list",
        from_portal=from_portal,
    )
    query = (
        select(Invitation)
        .where(
            Invitation.structure_id == structure.id,
            Invitation.portal_id == portal.id,
            Invitation.status == InvitationStatus.PENDING,
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
        .limit(PENDING_SHOWN_MAX)
    )
    return list(session.scalars(query))


def invitee_of(session: Session, invitation: Invitation) -> User | None:
    """The person an invitation reaches now: the one it named, or the holder of a new person's
    address should it have been given an identity since; None for a new person."""
    if invitation.user is not None:
        return invitation.user
    return find_user(session, invitation.invitee)


def _typed_login(login: str) -> str:
    login = login.strip().lower()
    if not login or len(login) > INVITEE_MAX or not login.isprintable():
        raise InvalidField("existing", UNKNOWN_LOGIN)
    return login


def _typed_person(person: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(person) - {"email", *CONTACT_FIELDS}
    if unknown:
        raise InvalidField(sorted(unknown)[0], "Ce champ ne peut pas être saisi.")
    email = validation.clean_email(person.get("email"))
    details = clean_contact_details(
        {name: person.get(name) for name in CONTACT_FIELDS if name in person}
        | {"first_name": person.get("first_name"), "last_name": person.get("last_name")}
    )
    return {"email": email, **details}


def _refuse_repeats(
    session: Session, structure: Structure, portal: Portal, invitee: str, *, now: datetime
) -> None:
    """Two invitations waiting for one person, or one for a holder of an account of the pair,
    are refused: both are things the administrator sees in their own list already."""
    waiting = select(Invitation.id).where(
        Invitation.structure_id == structure.id,
        Invitation.portal_id == portal.id,
        Invitation.status == InvitationStatus.PENDING,
        Invitation.invitee == invitee,
        Invitation.expires_at > now,
    )
    if session.scalar(waiting) is not None:
        raise AlreadyInvited()
    user = find_user(session, invitee)
    if user is None:
        return
    held = select(Account.id).filter_by(
        user_id=user.id, structure_id=structure.id, portal_id=portal.id
    )
    if session.scalar(held) is not None:
        raise AlreadyExists("Cette personne a déjà un compte pour cette structure sur ce portail.")


def _send(
    session: Session, invitation: Invitation, *, by: Actor, links: SingleUseLinks, now: datetime
) -> None:
    """Mails the invitation to whom it reaches now (someone named by an identifiant may have
    been given one since): someone known is told their identifiant and to sign in; someone new,
    or without a password yet, to choose one. An identifiant nobody holds reaches nobody."""
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=INVITATION_DAYS)
    user = invitee_of(session, invitation)
    invitation.user_id = user.id if user is not None else None
    if user is None and not invitation.names_a_new_person:
        return
    session.flush()  # the link names the invitation's id
    url = links.url(invitation.id, invitation.nonce, expires_at=invitation.expires_at)
    mails.account_invitation(session, invitation, user, by=by, url=url, now=now)


def _require_pending(
    session: Session,
    invitation: Invitation,
    *,
    by: Actor,
    now: datetime,
    action: str,
    from_portal: Portal | None,
) -> None:
    reach.authorise(
        session,
        by,
        invitation.structure,
        invitation.portal,
        now=now,
        action=action,
        target=invitation,
        from_portal=from_portal,
    )
    if invitation.status is not InvitationStatus.PENDING:
        raise InvitationClosed()


def _audit(
    session: Session, by: Actor, action: str, invitation: Invitation, *, now: datetime
) -> None:
    record(
        session,
        actor=by,
        action=action,
        now=now,
        structure=invitation.structure,
        portal=invitation.portal,
        target=invitation,
        after=invitation.snapshot(),
    )
