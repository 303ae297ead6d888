"""What the support's mails say (R11) about a « Changer d'administrateur » request: its receipt,
sent to the new administrator it names — the only address of the form, hence the requester's —
and its outcome: to the requester, and to the structure's administrators (direct and
delegated) when a new one is designated.

Queued in the outbox in the transaction that causes them; templates
`hub/mail/templates/admin_change_*.*`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from hub.clock import paris_datetime
from hub.mail import outbox
from hub.structures.models import Structure
from hub.support.models import AdminChangeRequest
from hub.users.models import User

if TYPE_CHECKING:
    from hub.support.handling import Previous


def _request_context(request: AdminChangeRequest) -> dict[str, Any]:
    return {
        "number": request.number,
        "portal": request.portal.name,
        "portal_url": request.portal.base_url,
        "matricule": request.matricule,
        "new_admin": request.full_name,
        "new_admin_email": request.email,
        "filed_at": request.created_at,
    }


def designated(
    session: Session,
    request: AdminChangeRequest,
    structure: Structure,
    *,
    invited: bool,
    previous: Previous,
    former: Sequence[User],
    informed: Sequence[User],
    now: datetime,
) -> None:
    """The requester learns the request is done (and whether an invitation follows); each
    administrator of the structure on the portal learns who was designated, and the former
    administrators what became of their own account."""
    context = {**_request_context(request), "structure": structure.name}
    outbox.queue(
        session,
        recipient=request.email,
        template="admin_change_designated",
        context={**outbox.greeting(request), **context, "invited": invited},
        now=now,
    )
    replaced = {person.id for person in former}
    for person in {person.id: person for person in informed}.values():
        outcome = previous.value if person.id in replaced else "keep"
        outbox.queue_to(
            session,
            person,
            template="admin_change_informed",
            context={**context, "outcome": outcome},
            now=now,
        )


def refused(session: Session, request: AdminChangeRequest, *, now: datetime) -> None:
    """The requester receives the reason of the refusal."""
    outbox.queue(
        session,
        recipient=request.email,
        template="admin_change_refused",
        context={
            **outbox.greeting(request),
            **_request_context(request),
            "reason": request.refusal_reason,
        },
        now=now,
    )


def request_filed(session: Session, filed: AdminChangeRequest, *, now: datetime) -> None:
    """The receipt: the number to quote, what was asked as it was typed (nothing the hub knows
    of the structure, which the requester was not told either), and what happens next.

    The comment stays with the support: anyone may name any address on the form, and a free
    text of theirs mailed from the hub would make it a relay for whatever they write."""
    outbox.queue(
        session,
        recipient=filed.email,
        template="admin_change_filed",
        context={
            **outbox.greeting(filed),
            "number": filed.number,
            "filed_at": paris_datetime(filed.created_at),
            "portal": filed.portal.name,
            "matricule": filed.matricule,
            "contract": filed.contract,
            "siret": filed.siret,
            "email": filed.email,
            "full_name": f"{filed.civility.value} {filed.first_name} {filed.last_name}",
            "service": filed.service,
            "mobile_phone": spaced_phone(filed.mobile_phone),
            "landline_phone": spaced_phone(filed.landline_phone),
        },
        now=now,
    )


def spaced_phone(number: str | None) -> str | None:
    """« 06 12 34 56 78 »: a stored national number as people read it."""
    if not number:
        return None
    return " ".join(number[i : i + 2] for i in range(0, len(number), 2))
