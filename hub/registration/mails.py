"""What registration's mails say (R12): the validation link of step 3, the welcome once the
registration is complete (R1), and the notice to a certifier's administrators that a depositor
declared a mandate for it.

Each is queued in the outbox, in the transaction of the step that causes it; the templates are
`hub/mail/templates/registration_*.*` and `mandate_declared.*`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from hub.accounts.mails import account_context
from hub.accounts.models import Account
from hub.clock import paris_date, to_paris
from hub.mail import outbox
from hub.portals.models import Portal
from hub.registration.models import Registration
from hub.structures.models import Structure
from hub.users.models import User


def validation_link(
    session: Session, registration: Registration, *, url: str, holder: User | None
) -> None:
    """The validation link; to a known address, with the holder's identifiant and how to sign
    in, and greeting them by the name the hub knows rather than the one typed."""
    expires_at = registration.expires_at
    known = {"username": holder.username} if holder is not None else {}
    outbox.queue(
        session,
        recipient=registration.email,
        template="registration_known_address" if holder else "registration_validation",
        context={
            **outbox.greeting(holder or registration),
            **known,
            "portal": registration.portal.name,
            "structure": registration.structure.name,
            "matricule": registration.structure.matricule,
            "validation_url": url,
            "expires_on": paris_date(expires_at),
            "expires_hour": to_paris(expires_at).strftime("%H:%M"),
        },
        now=registration.created_at,
    )


def registration_completed(
    session: Session, account: Account, certifiers: Sequence[Structure], *, now: datetime
) -> None:
    """Welcomes the first administrator (R1), naming the certifiers they deposit for."""
    outbox.queue(
        session,
        recipient=account.user.email,
        template="registration_completed",
        context={
            **account_context(account),
            "certifiers": [f"{c.name} (matricule {c.matricule})" for c in certifiers],
        },
        now=now,
    )


def mandate_declared(
    session: Session,
    admin: User,
    depositor: Structure,
    certifier: Structure,
    portal: Portal,
    *,
    now: datetime,
) -> None:
    """Tells one of the certifier's administrators on `portal` that `depositor` now deposits
    on its behalf, so that a mandate they never gave does not go unnoticed."""
    outbox.queue_to(
        session,
        admin,
        template="mandate_declared",
        context={
            "portal": portal.name,
            "certifier": certifier.name,
            "certifier_matricule": certifier.matricule,
            "depositor": depositor.name,
            "depositor_matricule": depositor.matricule,
        },
        now=now,
    )
