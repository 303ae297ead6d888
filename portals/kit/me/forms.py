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
EMAIL_FIELD = "email"
CIVILITIES = ("M.", "Mme")
OPTIONAL = {"civility", "service", "mobile_phone", "landline_phone"}
MAX_LENGTH = 200  # longer than any field the hub accepts: it says which one is too long


def contact_changes(form: Mapping[str, str]) -> dict[str, Any]:
    """The PATCH body: every editable field, trimmed; an empty optional field clears it. The
    e-mail address is sent when given: the hub changes it only once the new address is
    validated (it mails a link there), and ignores it when it is the current one."""
    changes: dict[str, Any] = {}
    for name in CONTACT_FIELDS:
        value = (form.get(name) or "").strip()[:MAX_LENGTH]
        changes[name] = None if (name in OPTIONAL and not value) else value
    email = (form.get(EMAIL_FIELD) or "").strip()[:MAX_LENGTH]
    if email:
        changes[EMAIL_FIELD] = email
    return changes


def email_pending(changes: Mapping[str, Any], identity: Mapping[str, Any]) -> str | None:
    """The new address awaiting validation: the one sent, when the hub still answers another."""
    asked = changes.get(EMAIL_FIELD)
    if not asked or asked.lower() == (identity.get(EMAIL_FIELD) or "").lower():
        return None
    return asked


def form_values(identity: Mapping[str, Any]) -> dict[str, str]:
    """What the form shows: the hub's identity, or what the person typed after a refusal."""
    return {name: identity.get(name) or "" for name in (*CONTACT_FIELDS, EMAIL_FIELD)}
