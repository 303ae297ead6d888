"""The contact-details form of « Mes informations ». The hub validates (and says what is wrong,
in French, per field); the form only collects, trims and bounds what is sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CONTACT_FIELDS = (
    "civility",
    "last_name",
    "first_name",
    "service",
    "mobile_phone",
    "landline_phone",
)
LABELS = {
    "username": "Identifiant",
    "civility": "Civilité",
    "last_name": "Nom",
    "first_name": "Prénom",
    "email": "Adresse électronique",
    "service": "Service",
    "mobile_phone": "Téléphone portable",
    "landline_phone": "Téléphone fixe",
}
CIVILITIES = ("M.", "Mme")
OPTIONAL = {"civility", "service", "mobile_phone", "landline_phone"}
MAX_LENGTH = 200  # longer than any field the hub accepts: it says which one is too long


def contact_changes(form: Mapping[str, str]) -> dict[str, Any]:
    """The PATCH body: every editable field, trimmed; an empty optional field clears it."""
    changes: dict[str, Any] = {}
    for name in CONTACT_FIELDS:
        value = (form.get(name) or "").strip()[:MAX_LENGTH]
        changes[name] = None if (name in OPTIONAL and not value) else value
    return changes


def form_values(identity: Mapping[str, Any]) -> dict[str, str]:
    """What the form shows: the hub's identity, or what the person typed after a refusal."""
    return {name: identity.get(name) or "" for name in CONTACT_FIELDS}
