"""The claims the hub releases about a person, by scope (OpenID Connect Core §5.4), and the
hub's own `accounts` claim. README « OpenID Connect » documents each of them.

`sub` is the person's `public_id`: stable and opaque, unlike the identifiant (`preferred_username`)
the support may change. `accounts` is released by the UserInfo endpoint only, never in the ID
token: it keeps ID tokens small, and a portal re-reads it whenever it needs the current state
(R5 and R9 change over time; an ID token is a snapshot).

`admin` releases no claim: it lets the portal call `/api/v1/admin` with the person's access
token, where the hub decides at each call what that person administers (R2, R9).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hub.oidc.access import PortalAccess, PortalAccount
from hub.structures.models import Structure
from hub.users.models import User

SCOPES = ("openid", "profile", "email", "accounts", "admin")
PROFILE_CLAIMS = ("name", "given_name", "family_name", "preferred_username")
EMAIL_CLAIMS = ("email", "email_verified")
ID_TOKEN_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "at_hash")
CLAIMS_SUPPORTED = (*dict.fromkeys((*ID_TOKEN_CLAIMS, *PROFILE_CLAIMS, *EMAIL_CLAIMS, "accounts")),)


def person_claims(user: User, scopes: set[str]) -> dict[str, Any]:
    """`sub`, plus the profile and email claims the scopes ask for."""
    claims: dict[str, Any] = {"sub": user.public_id}
    if "profile" in scopes:
        claims["name"] = user.full_name
        claims["given_name"] = user.first_name
        claims["family_name"] = user.last_name
        claims["preferred_username"] = user.username
    if "email" in scopes:
        claims["email"] = user.email
        claims["email_verified"] = user.email_verified
    return claims


def accounts_claim(
    access: PortalAccess, mandates: Mapping[int, Sequence[Structure]] | None = None
) -> list[dict[str, Any]]:
    """The person's accounts on the requesting portal (own and delegated, R9), for scope
    `accounts`; on a portal where mandates matter, each with the certifiers its structure
    deposits for (`mandates`, R12)."""
    claim = [_account(entry) for entry in access.accounts]
    if mandates is not None:
        for entry, account in zip(access.accounts, claim, strict=True):
            certifiers = mandates.get(entry.structure.id, ())
            account["deposits_for"] = [_structure(certifier) for certifier in certifiers]
    return claim


def _structure(structure: Structure) -> dict[str, str]:
    return {"matricule": structure.matricule, "name": structure.name, "siret": structure.siret}


def _account(entry: PortalAccount) -> dict[str, Any]:
    return {
        "structure": _structure(entry.structure),
        "role": entry.role.value,
        "via": entry.via.code if entry.via else None,
        "rights": sorted(right.value for right in entry.rights),
        "expires_at": entry.expires_at.isoformat(),
        "expired": entry.expired,
    }
