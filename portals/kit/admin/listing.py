"""« Gérer les comptes existants »: the filter as it travels in URLs (French parameter names),
what it asks of the hub, and the rows and pages people read (R3 statuses, R9 delegated admins,
dates in Europe/Paris)."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from portals.kit.admin.scope import portal_label
from portals.kit.auth.access import role_label
from portals.kit.clock import paris_date, parse_instant
from portals.kit.my_portals.views import account_status

PER_PAGE = 25
SEARCH_MAX_LENGTH = 100

STATUSES = {"valide": "valid", "expire-bientot": "expiring", "expire": "expired"}
"""The « Statut » filter: value in the URL → the hub's `status`."""
STATUS_CHOICES = (
    ("", "Tous"),
    ("valide", "Valide"),
    ("expire-bientot", "Expire bientôt"),
    ("expire", "Expiré"),
)
STATUS_LABELS = {"valid": "Valide", "expiring": "Expire bientôt", "expired": "Expiré"}
STATUS_FILTERS = {
    "valide": {"Valide", "Expire bientôt"},  # as the hub filters: not expired
    "expire-bientot": {"Expire bientôt"},
    "expire": {"Expiré"},
}
STATUS_CLASSES = {"Valide": "valide", "Expire bientôt": "expire-bientot", "Expiré": "expire"}

SORTS = {
    "expiration": "expires_at",
    "-expiration": "-expires_at",
    "nom": "name",
    "-nom": "-name",
}
"""The « Trier par » choice: value in the URL → the hub's `sort`."""
SORT_CHOICES = (
    ("expiration", "Expiration la plus proche"),
    ("-expiration", "Expiration la plus lointaine"),
    ("nom", "Nom, de A à Z"),
    ("-nom", "Nom, de Z à A"),
)
DEFAULT_SORT = "expiration"


def yes_no(value: bool) -> str:
    return "Oui" if value else "Non"


@dataclass(frozen=True)
class ListFilters:
    """The list's state, read from a query string or from the hidden fields of a form (so
    that after a POST the admin comes back to the same list)."""

    portail: str = ""
    structure: str = ""
    q: str = ""
    statut: str = ""
    tri: str = DEFAULT_SORT
    page: int = 1

    @classmethod
    def from_values(cls, values: Mapping[str, str]) -> ListFilters:
        statut = values.get("statut", "")
        tri = values.get("tri", DEFAULT_SORT)
        try:
            page = max(1, int(values.get("page", "1")))
        except ValueError:
            page = 1
        return cls(
            portail=values.get("portail", "")[:64],
            structure=values.get("structure", "")[:64],
            q=" ".join(values.get("q", "").split())[:SEARCH_MAX_LENGTH],
            statut=statut if statut in STATUSES else "",
            tri=tri if tri in SORTS else DEFAULT_SORT,
            page=min(page, 100_000),
        )

    def for_pair(self, portal: str, matricule: str) -> ListFilters:
        return ListFilters(portal, matricule, self.q, self.statut, self.tri, self.page)

    def hub_filters(self) -> dict[str, str]:
        return {"q": self.q, "status": STATUSES.get(self.statut, ""), "sort": SORTS[self.tri]}

    def query_args(self, **changes: Any) -> dict[str, Any]:
        """URL parameters of this list (defaults left out), with `changes` applied."""
        values = asdict(self) | changes
        defaults = asdict(ListFilters())
        return {
            name: value
            for name, value in values.items()
            if value != defaults[name] or name in ("portail", "structure")
        }


@dataclass(frozen=True)
class AccountRow:
    id: int | None  # None for a delegated admin (R9): not an account of this portal
    last_name: str
    first_name: str
    username: str
    email: str
    service: str
    role: str
    is_first_admin: bool
    data_exchange: bool
    created_on: str
    expires_on: str
    status: str

    @property
    def delegated(self) -> bool:
        return self.id is None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username

    @property
    def status_class(self) -> str:
        return STATUS_CLASSES.get(self.status, "")


def _user(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    return entry.get("user") or {}


def account_row(item: Mapping[str, Any], *, now: datetime) -> AccountRow:
    """An Account of the hub's list."""
    user = _user(item)
    expires_at = parse_instant(item["expires_at"])
    status = STATUS_LABELS.get(str(item.get("status"))) or account_status(
        expires_at, expired=False, now=now
    )
    created_at = item.get("created_at")
    return AccountRow(
        id=int(item["id"]),
        last_name=str(user.get("last_name") or ""),
        first_name=str(user.get("first_name") or ""),
        username=str(user.get("username") or ""),
        email=str(user.get("email") or ""),
        service=str(user.get("service") or ""),
        role=role_label(str(item.get("role")), None),
        is_first_admin=bool(item.get("is_first_admin")),
        data_exchange=bool(item.get("data_exchange")),
        created_on=paris_date(parse_instant(created_at)) if created_at else "",
        expires_on=paris_date(expires_at),
        status=status,
    )


@dataclass(frozen=True)
class InvitationRow:
    """« Invitation envoyée »: what the administrator typed, until the person accepts."""

    id: int
    invitee: str
    name: str
    role: str
    data_exchange: bool
    sent_on: str
    expires_on: str
    expired: bool

    @property
    def status(self) -> str:
        return "Invitation expirée" if self.expired else "Invitation envoyée"

    @property
    def label(self) -> str:
        return f"{self.name} ({self.invitee})" if self.name else self.invitee


def invitation_row(item: Mapping[str, Any]) -> InvitationRow:
    person = item.get("person") or {}
    name = f"{person.get('first_name') or ''} {person.get('last_name') or ''}".strip()
    return InvitationRow(
        id=int(item["id"]),
        invitee=str(item.get("invitee") or ""),
        name=name,
        role=role_label(str(item.get("role")), None),
        data_exchange=bool(item.get("data_exchange")),
        sent_on=paris_date(parse_instant(str(item["sent_at"]))),
        expires_on=paris_date(parse_instant(str(item["expires_at"]))),
        expired=item.get("status") == "expired",
    )


def delegated_row(entry: Mapping[str, Any], *, now: datetime) -> AccountRow:
    """R9: an admin of the source portal, listed as « Administrateur (via SOLTÉA) »; the right
    is derived, so it has neither rights of its own nor actions here."""
    user, via_name = _user(entry), portal_label(entry.get("via"))
    expires_at = parse_instant(entry["expires_at"])
    return AccountRow(
        id=None,
        last_name=str(user.get("last_name") or ""),
        first_name=str(user.get("first_name") or ""),
        username=str(user.get("username") or ""),
        email=str(user.get("email") or ""),
        service=str(user.get("service") or ""),
        role=f"Administrateur (via {via_name})" if via_name else role_label("admin", None),
        is_first_admin=False,
        data_exchange=False,
        created_on="",
        expires_on=paris_date(expires_at),
        status=account_status(expires_at, expired=False, now=now),
    )


def delegated_rows(
    entries: list[dict[str, Any]], filters: ListFilters, *, now: datetime
) -> list[AccountRow]:
    """The delegated admins the list's search and status filter let through."""
    wanted = STATUS_FILTERS.get(filters.statut)
    words = folded(filters.q).split()
    rows = []
    for entry in entries:
        row = delegated_row(entry, now=now)
        searched = folded(f"{row.last_name} {row.first_name} {row.username} {row.email}")
        if (wanted is None or row.status in wanted) and all(w in searched for w in words):
            rows.append(row)
    return rows


def folded(text: str) -> str:
    """Lower-case without accents, as the hub searches (« chloe » finds « Chloé »)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@dataclass(frozen=True)
class Pagination:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page)) if self.per_page > 0 else 1

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any], *, page: int) -> Pagination:
        return cls(
            page=int(answer.get("page") or page),
            per_page=int(answer.get("per_page") or PER_PAGE),
            total=int(answer.get("total") or 0),
        )
