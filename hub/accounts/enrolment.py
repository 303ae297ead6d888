"""« Créer un compte » (R2, R14): an administrator gives a person an account on a structure's
portal. The person is one the hub knows — named by identifiant or email, or typed in anew with an
email that already belongs to them — or a new person, who gets one identity for every portal and
an invitation by mail to choose their password.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import validation
from hub.accounts import policies
from hub.accounts.models import DEFAULT_RIGHTS, Account, Right, Role
from hub.accounts.services import open_account
from hub.actors import Actor
from hub.audit.services import record
from hub.errors import Conflict, InvalidField
from hub.mail import outbox
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.invitations import Invitation, Invitations
from hub.users.models import User
from hub.users.services import create_user, find_user

LOGIN_MAX = 254
UNKNOWN_PERSON = "Aucune personne ne correspond à cet identifiant ou à cette adresse e-mail."


@dataclass(frozen=True)
class Enrolment:
    account: Account
    invited: bool  # a new person (or one who never chose a password) was mailed an invitation


def enrol(
    session: Session,
    *,
    by: Actor,
    structure: Structure,
    portal: Portal,
    now: datetime,
    invitations: Invitations,
    existing: str | None = None,
    person: Mapping[str, Any] | None = None,
    role: Role = Role.USER,
    rights: Iterable[Right] = DEFAULT_RIGHTS,
) -> Enrolment:
    """Opens the account of `existing` (an identifiant or an email) or of `person` (email,
    names and contact details). A `person` whose email the hub knows is that person: one
    identity per mailbox, never a second user.

    The right is checked before anyone is created; the account mail is the usual one for a
    person who can sign in, an invitation for one who cannot yet.
    """
    policies.require_admin_of(session, by, structure, portal, now=now, action="account.create")
    if existing is not None:
        user = _known(session, existing)
    else:
        user = _person(session, by=by, person=person or {}, now=now)
    invited = user.password_hash is None
    account = open_account(
        session,
        by=by,
        user=user,
        structure=structure,
        portal=portal,
        now=now,
        role=role,
        rights=rights,
        notify=not invited,
    )
    if invited:
        _invite(session, account, by=by, invitations=invitations, now=now)
    return Enrolment(account, invited)


def _known(session: Session, login: str) -> User:
    login = login.strip()
    if not login or len(login) > LOGIN_MAX or not login.isprintable():
        raise InvalidField("existing", UNKNOWN_PERSON)
    user = find_user(session, login)
    if user is None:
        raise InvalidField("existing", UNKNOWN_PERSON)
    return user


def _person(session: Session, *, by: Actor, person: Mapping[str, Any], now: datetime) -> User:
    email = validation.clean_email(person.get("email"))
    user = session.scalar(select(User).where(User.email == email))
    if user is not None:
        return user
    details = {name: value for name, value in person.items() if name != "email"}
    return create_user(
        session,
        by=by,
        email=email,
        first_name=details.pop("first_name", None),
        last_name=details.pop("last_name", None),
        now=now,
        **details,
    )


def resend_invitation(
    session: Session, account: Account, *, by: Actor, invitations: Invitations, now: datetime
) -> Invitation:
    """« Renvoyer l'invitation »: a new link for a person who has not chosen a password yet
    (the earlier one may have expired). Someone who has one uses « Mot de passe oublié ? »."""
    policies.require_admin_of(
        session, by, account.structure, account.portal, now=now, action="account.invite"
    )
    if account.user.password_hash is not None:
        raise AlreadyActive()
    invitation = _invite(session, account, by=by, invitations=invitations, now=now)
    record(
        session,
        actor=by,
        action="account.invitation_resent",
        now=now,
        structure=account.structure,
        portal=account.portal,
        target=account,
        after={"expires_at": invitation.expires_at.isoformat()},
    )
    return invitation


class AlreadyActive(Conflict):
    code = "already_active"
    message = (
        "Cette personne a déjà choisi son mot de passe : elle se connecte normalement, ou "
        "utilise « Mot de passe oublié ? » sur la page de connexion."
    )


def _invite(
    session: Session, account: Account, *, by: Actor, invitations: Invitations, now: datetime
) -> Invitation:
    invitation = invitations.link(account.user, now=now)
    outbox.queue(
        session,
        recipient=account.user.email,
        template="account_invitation",
        context={
            **outbox.account_context(account),
            "invited_by": by.full_name if isinstance(by, User) else None,
            "invitation_url": invitation.url,
            "invitation_expires_at": invitation.expires_at,
        },
        now=now,
    )
    return invitation
