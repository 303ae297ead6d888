"""What a support operator does with a « Changer d'administrateur » request (R11): take it
(« Prendre en charge »), designate the new administrator (« Désigner comme administrateur ») or
refuse it (« Refuser »). Each is one transaction, audited as the operator, mailed to everybody
concerned.

Two operators never work one request twice: every action first locks the request's row, then
reads it again, so that of two concurrent designations one wins and the other finds it closed
(`RequestClosed`), and a request taken by one operator refuses the others (`RequestHeld`).
The console checks the operator's role; these functions trust their caller like any `System`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub import validation
from hub.accounts import invitations, policies, services
from hub.accounts.models import Account, Invitation, Role
from hub.actors import SupportOperator
from hub.audit.services import record
from hub.database import lock_row
from hub.errors import (
    ChecksNotMet,
    InvalidField,
    RequestClosed,
    RequestHeld,
    UnknownRequest,
)
from hub.single_use_links import SingleUseLinks
from hub.structures.models import Structure
from hub.support import mails
from hub.support.models import AdminChangeRequest, RequestStatus
from hub.support.review import checks_of, structure_of, waiting_invitations
from hub.users.models import User
from hub.users.services import find_user

REASON_MIN = 10
REASON_MAX = 2000


class Previous(StrEnum):
    """What becomes of the structure's current direct administrators on the portal."""

    KEEP = "keep"  # they stay administrators
    DEMOTE = "demote"  # they become users (« Retrait du rôle d'administrateur »)
    REMOVE = "remove"  # their account on the portal is deleted


@dataclass(frozen=True)
class Designation:
    request: AdminChangeRequest
    user: User | None  # the person made administrator, when the hub knew them
    invitation: Invitation | None  # the invitation of a new person, who becomes one on accepting
    previous: list[Account]  # the former administrators' accounts, demoted or removed


def take(
    session: Session, request_id: int, *, by: SupportOperator, now: datetime
) -> AdminChangeRequest:
    """« Prendre en charge »: the request becomes the operator's (taking one's own is a no-op)."""
    request = _locked(session, request_id)
    _require_open(request)
    if request.holder_login == by.login:
        return request
    _require_free(request, by)
    before = request.snapshot()
    _hold(request, by, now=now)
    _audit(session, by, "support.request_taken", request, now=now, before=before)
    return request


def release(
    session: Session, request_id: int, *, by: SupportOperator, now: datetime
) -> AdminChangeRequest:
    """« Libérer »: the holder hands the request back to the queue."""
    request = _locked(session, request_id)
    _require_open(request)
    _require_free(request, by)
    if request.holder_login is None:
        return request
    before = request.snapshot()
    request.status = RequestStatus.NEW
    request.holder_login = request.holder_name = request.taken_at = None
    request.updated_at = now
    _audit(session, by, "support.request_released", request, now=now, before=before)
    return request


def designate(
    session: Session,
    request_id: int,
    *,
    by: SupportOperator,
    now: datetime,
    links: SingleUseLinks,
    previous: Previous = Previous.KEEP,
) -> Designation:
    """« Désigner comme administrateur »: the person the request names becomes administrator
    of the structure on the portal — a known address gets an admin account (created, or
    promoted and renewed), a new one an invitation as administrator — then, if asked, the
    former direct administrators are demoted or removed, which `hub.accounts.services` refuses
    (`LastAdministrator`) when it would leave the structure without one. The requester, the
    former administrators and the new one are told by mail."""
    request = _locked(session, request_id)
    _require_open(request)
    _require_free(request, by)
    structure = structure_of(session, request)
    if structure is None or not all(check.ok for check in checks_of(request, structure)):
        raise ChecksNotMet()
    before = request.snapshot()
    portal = request.portal
    current = policies.administrators(session, structure, portal, now=now)
    former = [admin.account for admin in current if admin.via is None]
    user = find_user(session, request.email)
    invitation = None
    if user is not None:
        _make_admin(session, user, structure, request, by=by, now=now)
    else:
        invitation = _invite(session, structure, request, by=by, now=now, links=links)
    replaced = [account for account in former if user is None or account.user_id != user.id]
    if previous is not Previous.KEEP:
        for account in replaced:
            if previous is Previous.DEMOTE:
                services.change_role(session, account, Role.USER, by=by, now=now)
            else:
                services.delete_account(session, account, by=by, now=now)
    _hold(request, by, now=now)
    request.status = RequestStatus.DONE
    request.closed_at = now
    request.designated_user_id = user.id if user is not None else None
    _audit(
        session,
        by,
        "support.request_designated",
        request,
        now=now,
        before=before,
        structure=structure,
        extra={
            "designated": request.email,
            "invited": invitation is not None,
            "previous": previous.value,
            "replaced": [account.user.username for account in replaced],
        },
    )
    mails.designated(
        session,
        request,
        structure,
        invited=invitation is not None,
        previous=previous,
        former=[account.user for account in replaced],
        informed=[admin.user for admin in current if admin.user.email != request.email],
        now=now,
    )
    done = [] if previous is Previous.KEEP else replaced
    return Designation(request, user, invitation, done)


def refuse(
    session: Session, request_id: int, *, by: SupportOperator, reason: str, now: datetime
) -> AdminChangeRequest:
    """« Refuser »: closes the request; the requester receives the reason."""
    cleaned = validation.clean_optional_text(
        reason, field="reason", label="Motif du refus", max_length=REASON_MAX
    )
    if cleaned is None or len(cleaned) < REASON_MIN:
        raise InvalidField(
            "reason",
            f"Indiquez le motif du refus ({REASON_MIN} caractères au moins) : le demandeur le "
            "recevra.",
        )
    request = _locked(session, request_id)
    _require_open(request)
    _require_free(request, by)
    before = request.snapshot()
    _hold(request, by, now=now)
    request.status = RequestStatus.REFUSED
    request.closed_at = now
    request.refusal_reason = cleaned
    _audit(session, by, "support.request_declined", request, now=now, before=before)
    mails.refused(session, request, now=now)
    return request


def _locked(session: Session, request_id: int) -> AdminChangeRequest:
    """The request under its row lock, as committed now: taken first in the transaction, so
    that a concurrent action waits, then sees what the first one did."""
    lock_row(session, AdminChangeRequest.__table__, request_id)
    request = session.scalar(
        select(AdminChangeRequest)
        .where(AdminChangeRequest.id == request_id)
        .execution_options(populate_existing=True)
    )
    if request is None:
        raise UnknownRequest()
    return request


def _require_open(request: AdminChangeRequest) -> None:
    if not request.status.is_open:
        raise RequestClosed(request.status.label, request.holder_name)


def _require_free(request: AdminChangeRequest, by: SupportOperator) -> None:
    if request.holder_login is not None and request.holder_login != by.login:
        raise RequestHeld(request.holder_name or request.holder_login)


def _hold(request: AdminChangeRequest, by: SupportOperator, *, now: datetime) -> None:
    if request.holder_login != by.login:
        request.holder_login, request.holder_name, request.taken_at = by.login, by.name, now
    request.status = RequestStatus.IN_PROGRESS
    request.updated_at = now


def _make_admin(
    session: Session,
    user: User,
    structure: Structure,
    request: AdminChangeRequest,
    *,
    by: SupportOperator,
    now: datetime,
) -> Account:
    """A known person's admin account on the portal: promoted and renewed, or opened."""
    account = session.scalar(
        select(Account).filter_by(
            user_id=user.id, structure_id=structure.id, portal_id=request.portal_id
        )
    )
    if account is None:
        return services.open_account(
            session,
            by=by,
            user=user,
            structure=structure,
            portal=request.portal,
            now=now,
            role=Role.ADMIN,
        )
    services.change_role(session, account, Role.ADMIN, by=by, now=now)
    return services.renew(session, account, by=by, now=now)


def _invite(
    session: Session,
    structure: Structure,
    request: AdminChangeRequest,
    *,
    by: SupportOperator,
    now: datetime,
    links: SingleUseLinks,
) -> Invitation:
    """A new person's invitation as administrator, with the details the requester gave; one
    already waiting for that address becomes an administrator's and is sent again."""
    waiting = next(iter(waiting_invitations(session, request, structure)), None)
    if waiting is not None:
        waiting.role = Role.ADMIN
        return invitations.send_again(session, waiting, by=by, links=links, now=now)
    return invitations.invite(
        session,
        by=by,
        structure=structure,
        portal=request.portal,
        now=now,
        links=links,
        person={
            "email": request.email,
            "civility": request.civility,
            "last_name": request.last_name,
            "first_name": request.first_name,
            "service": request.service,
            "mobile_phone": request.mobile_phone,
            "landline_phone": request.landline_phone,
        },
        role=Role.ADMIN,
    )


def _audit(
    session: Session,
    by: SupportOperator,
    action: str,
    request: AdminChangeRequest,
    *,
    now: datetime,
    before: dict[str, object],
    structure: Structure | None = None,
    extra: dict[str, object] | None = None,
) -> None:
    record(
        session,
        actor=by,
        action=action,
        now=now,
        structure=structure,
        portal=request.portal,
        target=request,
        before=before,
        after={**request.snapshot(), **(extra or {})},
    )
