"""Who is signed in and what they may do here, read from the hub's claims (never decided by
the portal), and the decorators that guard views: `login_required`, `admin_required`,
`right_required("data_exchange")`.

The `accounts` claim lists the person's accounts on this portal (one per structure), each with
its role, rights and expiry; an expired account grants nothing (R3, R5).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import redirect, request, url_for

from portals.kit import messages
from portals.kit.auth.signins import current_sign_in
from portals.kit.clock import parse_instant
from portals.kit.pages import render_message
from portals.kit.structures import StructureRef

View = TypeVar("View", bound=Callable[..., Any])


@dataclass(frozen=True)
class PortalAccount:
    """One entry of the `accounts` claim."""

    matricule: str
    structure_name: str
    siret: str | None
    role: str  # "admin" or "user"
    via: str | None  # the portal an admin role is delegated from (R9), e.g. "soltea"
    rights: frozenset[str]
    expires_at: datetime | None
    expired: bool
    # The certifiers the structure deposits for, as a tiers de confiance (R12; Certificateurs).
    deposits_for: tuple[StructureRef, ...] = ()

    @classmethod
    def from_claim(cls, entry: dict[str, Any]) -> PortalAccount:
        structure = entry.get("structure") or {}
        expires_at = entry.get("expires_at")
        return cls(
            matricule=str(structure.get("matricule", "")),
            structure_name=str(structure.get("name", "")),
            siret=structure.get("siret"),
            role=str(entry.get("role", "user")),
            via=entry.get("via"),
            rights=frozenset(entry.get("rights") or ()),
            expires_at=parse_instant(expires_at) if expires_at else None,
            expired=bool(entry.get("expired", False)),
            deposits_for=tuple(
                StructureRef.from_claim(certifier) for certifier in entry.get("deposits_for") or ()
            ),
        )

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def role_label(self) -> str:
        return role_label(self.role, self.via)


def role_label(role: str, via: str | None) -> str:
    """As account lists show a role (R9: « Administrateur (via SOLTÉA) »)."""
    if role != "admin":
        return "Utilisateur"
    if via:
        return f"Administrateur (via {messages.PORTAL_NAMES.get(via, via)})"
    return "Administrateur"


@dataclass(frozen=True)
class Person:
    sub: str
    name: str
    username: str | None
    email: str | None
    accounts: tuple[PortalAccount, ...]

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Person:
        given, family = claims.get("given_name", ""), claims.get("family_name", "")
        name = claims.get("name") or f"{given} {family}".strip() or claims.get("sub", "")
        return cls(
            sub=claims["sub"],
            name=name,
            username=claims.get("preferred_username"),
            email=claims.get("email"),
            accounts=tuple(PortalAccount.from_claim(a) for a in claims.get("accounts") or ()),
        )

    @property
    def valid_accounts(self) -> tuple[PortalAccount, ...]:
        return tuple(a for a in self.accounts if not a.expired)

    @property
    def only_expired_accounts(self) -> bool:
        """R5: every account here has expired (the hub refuses sign-in and refresh then; this
        covers the claims read in between)."""
        return bool(self.accounts) and not self.valid_accounts

    @property
    def is_admin(self) -> bool:
        return any(a.is_admin for a in self.valid_accounts)

    def has_right(self, right: str) -> bool:
        return any(right in a.rights for a in self.valid_accounts)

    @property
    def delegated_from(self) -> str | None:
        """The source portal when every valid account here is a delegated admin right (R9)."""
        sources = {a.via for a in self.valid_accounts}
        return next(iter(sources)) if len(sources) == 1 and None not in sources else None


def current_person() -> Person | None:
    sign_in = current_sign_in()
    return None if sign_in is None else Person.from_claims(sign_in.claims)


def login_required(view: View) -> View:
    """Anonymous visitors go through the hub first (single sign-on: no password when the hub
    session is alive), then come back here."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if current_sign_in() is None:
            return redirect(url_for("kit_auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def admin_required(view: View) -> View:
    """R6, R15: only an administrator of a structure on this portal (direct or delegated)."""

    @login_required
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        person = current_person()
        if person is None or not person.is_admin:
            return render_message(messages.RESTRICTED_TITLE, messages.ADMIN_ONLY, status=403)
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def right_required(right: str) -> Callable[[View], View]:
    """R7: a view that transmits or shows data needs the right on a valid account."""

    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            person = current_person()
            if person is None or not person.has_right(right):
                return render_message(
                    messages.RESTRICTED_TITLE, messages.right_missing(right), status=403
                )
            return view(*args, **kwargs)

        return guarded  # type: ignore[return-value]

    return decorator
