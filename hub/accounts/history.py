"""A structure's « Historique » (R2, R15): the administrative actions on its accounts — who did
what, when, on which portal and from which portal — newest first, as its administrators read it.

Read from the audit log, which outlives the people and accounts it names: the actor is joined
by id and may be gone (then only their identifiant, as the log kept it, remains).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.actors import operator_name
from hub.audit.models import AuditEvent
from hub.users.models import User

# The actions an administrator's history shows, with the label a person reads.
ACTION_LABELS = {
    "account.create": "Création du compte",
    "account.renew": "Renouvellement",
    "account.promote": "Nomination administrateur",
    "account.demote": "Retrait du rôle d'administrateur",
    "account.right_withdraw": "Retrait du droit « Transmettre et consulter les données »",
    "account.right_restore": "Rétablissement du droit « Transmettre et consulter les données »",
    "account.delete": "Suppression du compte",
    "account.invite": "Invitation à un compte",
    "account.invitation_resent": "Invitation renvoyée",
    "account.invitation_cancelled": "Invitation annulée",
    "account.invitation_accepted": "Invitation acceptée",
    "mandate.create": "Mandat de dépôt (tiers de confiance)",
    "support.request_designated": "Changement d'administrateur à la demande du support",
}
# What else the support console's history names (it reads the whole log, refusals included).
SUPPORT_LABELS = {
    **ACTION_LABELS,
    "support.request_filed": "Demande de changement d'administrateur déposée",
    "support.request_refused": "Demande de changement d'administrateur non enregistrée",
    "support.request_taken": "Demande prise en charge par le support",
    "support.request_released": "Demande remise dans la file du support",
    "support.request_declined": "Demande de changement d'administrateur refusée par le support",
    "support.unlock": "Blocage de connexion levé par le support",
    "registration.lookup": "Recherche de la structure (inscription)",
    "registration.request": "Demande d'inscription",
    "registration.complete": "Inscription terminée",
}


@dataclass(frozen=True)
class HistoryEntry:
    event: AuditEvent
    actor: User | None  # the person who acted, while they exist; None for the hub itself

    @property
    def action_label(self) -> str:
        """The words for the action, or its code when it has none (a refusal: `….refused`)."""
        return SUPPORT_LABELS.get(self.event.action, self.event.action)

    @property
    def actor_label(self) -> str:
        """« Alice Martin »; the identifiant of a person since deleted; « Sophie Bernard
        (support) » for a support operator; « Hub (demo) » for an operation of the hub itself
        (command line, demo loader)."""
        if self.actor is not None:
            return self.actor.full_name
        if self.event.actor_id is not None:
            return self.event.actor
        operator = operator_name(self.event.actor)
        if operator is not None:
            return f"{operator} (support)"
        return f"Hub ({self.event.actor})"


@dataclass(frozen=True)
class HistoryPage:
    items: list[HistoryEntry]
    total: int
    page: int
    per_page: int


def structure_history(
    session: Session,
    structure_id: int,
    *,
    portal_codes: Collection[str],
    page: int,
    per_page: int,
) -> HistoryPage:
    """The administrative actions on the accounts of the structure on `portal_codes`, newest
    first; refused attempts are not part of it (the operators' log keeps them)."""
    conditions = (
        AuditEvent.structure_id == structure_id,
        AuditEvent.portal.in_(sorted(portal_codes)),
        AuditEvent.action.in_(sorted(ACTION_LABELS)),
    )
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    offset = (page - 1) * per_page
    if offset >= total:
        return HistoryPage([], total, page, per_page)
    rows = session.execute(
        select(AuditEvent, User)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(*conditions)
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(per_page)
        .offset(offset)
    )
    items = [HistoryEntry(event, actor) for event, actor in rows]
    return HistoryPage(items, total, page, per_page)
