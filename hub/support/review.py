"""What an operator reads before acting on a « Changer d'administrateur » request (R11): the
queue of requests, and for one of them the checks the hub computes against the referential,
the structure's current administrators on the portal, what the hub knows of the new
administrator's address, and the structure's earlier requests.

Nothing here changes anything or refuses anyone: the console shows it to operators and readers
alike; `hub.support.handling` acts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.accounts import policies
from hub.accounts.models import Account, Invitation, InvitationStatus
from hub.audit.models import AuditEvent
from hub.errors import UnknownRequest
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.structures.queries import structure_with_contracts
from hub.support.models import OPEN_STATUSES, AdminChangeRequest, RequestStatus
from hub.users.models import User
from hub.users.services import find_user

PER_PAGE = 25
EARLIER_SHOWN = 20
SIGN_IN_ACTION = "session.sign_in"


@dataclass(frozen=True)
class QueuePage:
    items: list[AdminChangeRequest]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def queue(
    session: Session,
    *,
    statuses: Sequence[RequestStatus] = tuple(OPEN_STATUSES),
    portal_code: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> QueuePage:
    """The requests in `statuses` (open ones by default), oldest first: the first filed is the
    first answered."""
    conditions = [AdminChangeRequest.status.in_(sorted(statuses))]
    if portal_code:
        conditions.append(
            AdminChangeRequest.portal_id.in_(select(Portal.id).where(Portal.code == portal_code))
        )
    total = session.scalar(select(func.count(AdminChangeRequest.id)).where(*conditions)) or 0
    page = max(1, page)
    items = session.scalars(
        select(AdminChangeRequest)
        .where(*conditions)
        .order_by(AdminChangeRequest.created_at, AdminChangeRequest.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return QueuePage(list(items), total, page, per_page)


def find(session: Session, number: str) -> AdminChangeRequest:
    if not 0 < len(number) <= 20 or not number.isprintable():
        raise UnknownRequest()
    found = session.scalar(select(AdminChangeRequest).where(AdminChangeRequest.number == number))
    if found is None:
        raise UnknownRequest()
    return found


@dataclass(frozen=True)
class Check:
    """One thing the requester typed, against the referential: green when they agree."""

    label: str
    ok: bool
    typed: str
    referential: str


@dataclass(frozen=True)
class CurrentAdmin:
    """An administrator of the structure on the request's portal (R9: `via` a source portal for
    a delegated one), with what tells whether they are still around."""

    user: User
    via: Portal | None
    expires_at: datetime
    last_sign_in: datetime | None


@dataclass(frozen=True)
class Review:
    request: AdminChangeRequest
    structure: Structure | None
    checks: list[Check]
    admins: list[CurrentAdmin]
    known_person: User | None  # the holder of the new administrator's address, if any
    person_accounts: list[Account]
    pending_invitations: list[Invitation]  # waiting for that address on the portal
    earlier: list[AdminChangeRequest]

    @property
    def all_green(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def direct_admins(self) -> list[CurrentAdmin]:
        """Those a designation may demote or remove: delegated ones (R9) are administrators
        on their own portal, where the change is theirs to make."""
        return [admin for admin in self.admins if admin.via is None]


def review(session: Session, request: AdminChangeRequest, *, now: datetime) -> Review:
    structure = structure_of(session, request)
    checks = checks_of(request, structure)
    admins = _admins(session, structure, request.portal, now=now) if structure else []
    person = find_user(session, request.email)
    accounts = (
        session.scalars(
            select(Account).where(Account.user_id == person.id).order_by(Account.created_at)
        ).all()
        if person is not None
        else []
    )
    invitations = waiting_invitations(session, request, structure) if structure else []
    return Review(
        request=request,
        structure=structure,
        checks=checks,
        admins=admins,
        known_person=person,
        person_accounts=list(accounts),
        pending_invitations=invitations,
        earlier=earlier_requests(session, request),
    )


def waiting_invitations(
    session: Session, request: AdminChangeRequest, structure: Structure
) -> list[Invitation]:
    """The invitations of the structure on the request's portal still waiting for the new
    administrator's address (a designation sends one of them again rather than a second)."""
    return list(
        session.scalars(
            select(Invitation).where(
                Invitation.structure_id == structure.id,
                Invitation.portal_id == request.portal_id,
                Invitation.invitee == request.email,
                Invitation.status == InvitationStatus.PENDING,
            )
        )
    )


def structure_of(session: Session, request: AdminChangeRequest) -> Structure | None:
    return structure_with_contracts(session, request.matricule)


def checks_of(request: AdminChangeRequest, structure: Structure | None) -> list[Check]:
    """Matricule known; contract of this structure on this portal; SIRET as in the referential."""
    portal = request.portal
    if structure is None:
        unknown = "—"
        return [
            Check("Matricule connu du référentiel", False, request.matricule, "inconnu"),
            Check(f"Contrat de la structure sur {portal.name}", False, request.contract, unknown),
            Check("SIRET conforme au référentiel", False, request.siret, unknown),
        ]
    contract = structure.contract_for(portal)
    return [
        Check("Matricule connu du référentiel", True, request.matricule, structure.name),
        Check(
            f"Contrat de la structure sur {portal.name}",
            contract is not None and contract.number == request.contract,
            request.contract,
            contract.number if contract is not None else "aucun contrat sur ce portail",
        ),
        Check(
            "SIRET conforme au référentiel",
            structure.siret == request.siret,
            request.siret,
            structure.siret,
        ),
    ]


def _admins(
    session: Session, structure: Structure, portal: Portal, *, now: datetime
) -> list[CurrentAdmin]:
    admins = policies.administrators(session, structure, portal, now=now)
    last = last_sign_ins(session, [admin.user.id for admin in admins])
    return [
        CurrentAdmin(admin.user, admin.via, admin.account.expires_at, last.get(admin.user.id))
        for admin in admins
    ]


def last_sign_ins(session: Session, user_ids: Sequence[int]) -> dict[int, datetime]:
    """When each person last signed in at the hub, read from the audit log."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(AuditEvent.actor_id, func.max(AuditEvent.occurred_at))
        .where(AuditEvent.action == SIGN_IN_ACTION, AuditEvent.actor_id.in_(list(user_ids)))
        .group_by(AuditEvent.actor_id)
    )
    return {actor_id: occurred_at for actor_id, occurred_at in rows}


def earlier_requests(session: Session, request: AdminChangeRequest) -> list[AdminChangeRequest]:
    """The other requests filed for the same matricule, newest first."""
    return list(
        session.scalars(
            select(AdminChangeRequest)
            .where(
                AdminChangeRequest.matricule == request.matricule,
                AdminChangeRequest.id != request.id,
            )
            .order_by(AdminChangeRequest.created_at.desc(), AdminChangeRequest.id.desc())
            .limit(EARLIER_SHOWN)
        ).all()
    )
