"""What the administration API answers, as JSON: the admin's scope, accounts, delegated
administrators and history entries. The shapes are the OpenAPI document's (`idp/api/openapi.py`)
and the portals' contract; dates are ISO 8601 in UTC."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.accounts.history import HistoryEntry
from hub.accounts.listing import status_of
from hub.accounts.models import Account, Invitation, Right
from hub.accounts.policies import Administrator, Grant
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.models import User


def person(user: User) -> dict[str, Any]:
    return {
        "sub": user.public_id,
        "username": user.username,
        "civility": user.civility.value if user.civility else None,
        "last_name": user.last_name,
        "first_name": user.first_name,
        "email": user.email,
        "service": user.service,
        "mobile_phone": user.mobile_phone,
        "landline_phone": user.landline_phone,
    }


def portal_ref(portal: Portal) -> dict[str, Any]:
    return {"code": portal.code, "name": portal.name}


def structure_ref(structure: Structure) -> dict[str, Any]:
    return {"matricule": structure.matricule, "name": structure.name}


def account(account: Account, *, now: datetime) -> dict[str, Any]:
    return {
        "id": account.id,
        "user": person(account.user),
        "structure": structure_ref(account.structure),
        "portal": portal_ref(account.portal),
        "role": account.role.value,
        "is_first_admin": account.is_first_admin,
        "rights": sorted(right.value for right in account.rights),
        "data_exchange": account.has_right(Right.DATA_EXCHANGE),
        "created_at": account.created_at.isoformat(),
        "expires_at": account.expires_at.isoformat(),
        "status": status_of(account.expires_at, now=now).value,
    }


def invitation(invitation: Invitation, *, now: datetime) -> dict[str, Any]:
    """What the administrator typed and chose, never what the hub knows of the person."""
    person = (
        {
            "civility": invitation.civility.value if invitation.civility else None,
            "last_name": invitation.last_name,
            "first_name": invitation.first_name,
            "service": invitation.service,
            "mobile_phone": invitation.mobile_phone,
            "landline_phone": invitation.landline_phone,
        }
        if invitation.names_a_new_person
        else None
    )
    inviter = invitation.invited_by
    return {
        "id": invitation.id,
        "invitee": invitation.invitee,
        "person": person,
        "structure": structure_ref(invitation.structure),
        "portal": portal_ref(invitation.portal),
        "role": invitation.role.value,
        "rights": sorted(right.value for right in invitation.rights),
        "data_exchange": Right.DATA_EXCHANGE in invitation.rights,
        "status": "expired" if invitation.is_expired(now) else "sent",
        "invited_by": {"name": inviter.full_name} if inviter is not None else None,
        "created_at": invitation.created_at.isoformat(),
        "sent_at": invitation.sent_at.isoformat(),
        "expires_at": invitation.expires_at.isoformat(),
    }


def delegated_admin(admin: Administrator) -> dict[str, Any]:
    """R9: « Administrateur (via SOLTÉA) », a right that lapses with the source account."""
    assert admin.via is not None
    return {
        "user": person(admin.user),
        "via": portal_ref(admin.via),
        "expires_at": admin.account.expires_at.isoformat(),
    }


def scope(grants: list[Grant], calling: Portal) -> dict[str, Any]:
    """The portals and structures an admin manages from `calling`. A portal's `via` is the
    portal its right comes from when every structure there is administered by delegation."""
    portals: dict[int, Portal] = {}
    direct: set[int] = set()
    via: dict[int, str] = {}
    structures: dict[int, Structure] = {}
    held: dict[int, set[int]] = {}
    for grant in grants:
        portals[grant.portal.id] = grant.portal
        if grant.via is None:
            direct.add(grant.portal.id)
        else:
            via.setdefault(grant.portal.id, grant.via.code)
        structures[grant.structure.id] = grant.structure
        held.setdefault(grant.structure.id, set()).add(grant.portal.id)
    ordered = sorted(portals.values(), key=lambda p: (p.id != calling.id, p.code))
    return {
        "portals": [
            portal_ref(p) | {"via": None if p.id in direct else via[p.id]} for p in ordered
        ],
        "structures": [
            structure_ref(s)
            | {"siret": s.siret, "portals": [p.code for p in ordered if p.id in held[s.id]]}
            for s in sorted(structures.values(), key=lambda s: (s.name, s.matricule))
        ],
    }


def history_entry(entry: HistoryEntry) -> dict[str, Any]:
    event = entry.event
    return {
        "occurred_at": event.occurred_at.isoformat(),
        "actor": (
            {"name": entry.actor.full_name, "username": entry.actor.username}
            if entry.actor is not None
            else None
        ),
        "actor_label": entry.actor_label,
        "action": event.action,
        "action_label": entry.action_label,
        "portal": event.portal,
        "via_portal": event.via_portal,
        "target": event.target or "",
        "before": event.before,
        "after": event.after,
    }
