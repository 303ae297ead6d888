"""What the account mails say: an account created (R3) or renewed (R4), an invitation to one
(« Créer un compte »), and a holder's request to renew it (« Prévenir mon administrateur »).

Each is queued in the outbox, in the transaction of the change that causes it; the templates
are `hub/mail/templates/account_created.*`, `account_renewed.*`, `account_invitation.*` and
`renewal_request.*`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.accounts.models import Account, Invitation, Right
from hub.accounts.policies import Administrator
from hub.actors import Actor, SupportOperator
from hub.clock import paris_date
from hub.mail import outbox
from hub.mail.models import OutboxMessage
from hub.portals.links import manage_accounts_url
from hub.users.models import User


def account_context(account: Account) -> dict[str, Any]:
    """What the account mails say about an account and the person holding it."""
    user = account.user
    return {
        **outbox.greeting(user),
        "username": user.username,
        "portal": account.portal.name,
        "portal_url": account.portal.base_url,
        "structure": account.structure.name,
        "matricule": account.structure.matricule,
        "expires_at": account.expires_at,
    }


def account_created(session: Session, account: Account, *, now: datetime) -> OutboxMessage:
    """Tells the person their account exists, with their login and its expiry date (R3)."""
    return outbox.queue(
        session,
        recipient=account.user.email,
        template="account_created",
        context=account_context(account),
        now=now,
    )


def account_renewed(session: Session, account: Account, *, now: datetime) -> OutboxMessage:
    """Tells the person how long their renewed account now lasts (R4)."""
    message = OutboxMessage(**account_renewed_row(account, now=now))
    session.add(message)
    return message


def account_renewed_row(account: Account, *, now: datetime) -> dict[str, Any]:
    """The mail of `account_renewed`, for `outbox.queue_rows` (a renewed selection)."""
    return outbox.message_row(
        recipient=account.user.email,
        template="account_renewed",
        context=account_context(account),
        now=now,
    )


def account_invitation(
    session: Session,
    invitation: Invitation,
    user: User | None,
    *,
    by: Actor,
    url: str,
    now: datetime,
) -> None:
    """The invitation, to `user` when the hub knows whom it reaches, else to the new person's
    address as typed: someone with a password is told their identifiant and to sign in."""
    greeted = user if user is not None else invitation
    outbox.queue(
        session,
        recipient=user.email if user is not None else invitation.invitee,
        template="account_invitation",
        context={
            **outbox.greeting(greeted),
            "username": user.username if user is not None and user.password_hash else None,
            "portal": invitation.portal.name,
            "structure": invitation.structure.name,
            "matricule": invitation.structure.matricule,
            "role": invitation.role.value,
            "data_exchange": Right.DATA_EXCHANGE in invitation.rights,
            "invited_by": by.full_name if isinstance(by, User) else None,
            "by_support": isinstance(by, SupportOperator),
            "invitation_url": url,
            "invitation_expires_at": invitation.expires_at,
        },
        now=now,
    )


def renewal_request(
    session: Session, admin: Administrator, account: Account, *, now: datetime
) -> None:
    """Asks one administrator of the expired account's structure to renew it, with a link to
    where they manage it (R9: their own portal, for a delegated admin)."""
    holder, portal, structure = account.user, account.portal, account.structure
    outbox.queue_to(
        session,
        admin.user,
        template="renewal_request",
        context={
            "holder": holder.full_name,
            "holder_username": holder.username,
            "holder_email": holder.email,
            "portal": portal.name,
            "structure": structure.name,
            "matricule": structure.matricule,
            "expired_on": paris_date(account.expires_at),
            "manage_url": manage_accounts_url(
                admin.via or portal, portal=portal, structure=structure
            ),
        },
        now=now,
    )
