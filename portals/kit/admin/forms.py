"""The forms of « Administration »: creating an account (an existing person by identifiant or
email, or a new person who gets an invitation) and changing an account's role and right. The
hub validates and names the wrong field in French; the forms only collect, trim and bound."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portals.kit.me.forms import LABELS, MAX_LENGTH, OPTIONAL

NEW_PERSON_FIELDS = (
    "civility",
    "last_name",
    "first_name",
    "email",
    "service",
    "mobile_phone",
    "landline_phone",
)
REQUIRED = ("last_name", "first_name", "email")
ROLES = (("user", "Utilisateur"), ("admin", "Administrateur"))
DATA_EXCHANGE_LABEL = "Transmettre et consulter les données"
FIELD_LABELS = LABELS | {
    "existing": "Identifiant ou adresse électronique",
    "role": "Rôle",
    "data_exchange": DATA_EXCHANGE_LABEL,
    "portail": "Portail",
    "structure": "Structure",
}

BOTH_GIVEN = "Indiquez soit une personne existante, soit une nouvelle personne, mais pas les deux."
NOBODY_GIVEN = (
    "Indiquez l'identifiant ou l'adresse électronique d'une personne existante, ou les "
    "coordonnées d'une nouvelle personne."
)


@dataclass(frozen=True)
class FormProblem:
    """A refusal found before asking the hub, shaped like the hub's (`field`, `message`)."""

    field: str | None
    message: str


def _text(form: Mapping[str, str], name: str) -> str:
    return (form.get(name) or "").strip()[:MAX_LENGTH]


def role_of(form: Mapping[str, str]) -> str:
    return "admin" if form.get("role") == "admin" else "user"


def data_exchange_of(form: Mapping[str, str]) -> bool:
    """R7: a checkbox; unticked sends nothing."""
    return form.get("data_exchange") == "oui"


def creation_values(form: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What the creation form shows: empty, or what the admin typed after a refusal. A new
    account gets `data_exchange` unless the admin unticks it (R7)."""
    if form is None:
        return {"existing": "", "role": "user", "data_exchange": True} | dict.fromkeys(
            NEW_PERSON_FIELDS, ""
        )
    values: dict[str, Any] = {name: _text(form, name) for name in ("existing", *NEW_PERSON_FIELDS)}
    return values | {"role": role_of(form), "data_exchange": data_exchange_of(form)}


def creation_body(values: Mapping[str, Any]) -> tuple[dict[str, Any] | None, FormProblem | None]:
    """The hub's request body for `creation_values`, or why none can be built."""
    grant = {"role": values["role"], "data_exchange": values["data_exchange"]}
    new_person = {name: values[name] for name in NEW_PERSON_FIELDS if values[name]}
    if values["existing"]:
        if set(new_person) - {"civility"}:
            return None, FormProblem("existing", BOTH_GIVEN)
        return {"existing": values["existing"]} | grant, None
    if not new_person:
        return None, FormProblem("existing", NOBODY_GIVEN)
    body = {
        name: (values[name] or None) if name in OPTIONAL else values[name]
        for name in NEW_PERSON_FIELDS
    }
    return body | grant, None


def account_changes(form: Mapping[str, str], account: Mapping[str, Any]) -> dict[str, Any]:
    """The PATCH body: only what differs from the account as the hub holds it now."""
    changes: dict[str, Any] = {}
    role = role_of(form)
    if role != account.get("role"):
        changes["role"] = role
    data_exchange = data_exchange_of(form)
    if data_exchange != bool(account.get("data_exchange")):
        changes["data_exchange"] = data_exchange
    return changes
