"""Cleaning and checking of what people type. Each function returns the normalised value or
raises `InvalidField` naming the field, with a French message a person can act on."""

from __future__ import annotations

import re
import unicodedata

from email_validator import EmailNotValidError, validate_email

from hub.errors import InvalidField

NAME_MAX = 100
SERVICE_MAX = 100
EMAIL_MAX = 254
STRUCTURE_NAME_MAX = 200

_NAME_RE = re.compile(r"^[^\W\d_]+(?:[ '’.-]+[^\W\d_]+)*\.?$")
_USERNAME_RE = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{1,62})[a-z0-9]$")
_CONTRACT_RE = re.compile(r"^[A-Z0-9](?:[A-Z0-9._/-]{0,48}[A-Z0-9])?$")
_PHONE_RE = re.compile(r"^\+?[0-9]{6,15}$")
# 0X XX XX XX XX, or +33 X XX XX XX XX (also written +33 (0)X…), grouped by spaces, dots or
# dashes as people copy them from a signature.
_FRENCH_PHONE_RE = re.compile(r"^(?:0|\+33(?:\(0\))?|0033)([1-9][0-9]{8})$")
_PHONE_SEPARATORS = re.compile(r"[ .\u00a0\u202f-]")
MOBILE_PREFIXES = frozenset("67")
LANDLINE_PREFIXES = frozenset("123459")
PHONE_SHOWN_MAX = 30
MOBILE_INVALID = (
    "Le numéro « {} » n'est pas un numéro de portable valide : il commence par 06 ou 07, par "
    "exemple 06 12 34 56 78 ou +33 6 12 34 56 78."
)
LANDLINE_INVALID = (
    "Le numéro « {} » n'est pas un numéro de téléphone fixe valide : il commence par 01 à 05 "
    "ou 09, par exemple 01 23 45 67 89 ou +33 1 23 45 67 89."
)
LA_POSTE_SIREN = "356000000"


def _collapse(value: str) -> str:
    return " ".join(value.split())


def _printable(field: str, value: str) -> None:
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cs"} for ch in value):
        raise InvalidField(field, "Ce champ contient des caractères non autorisés.")


def clean_email(value: str | None, *, field: str = "email") -> str:
    """A syntactically valid address, lower-cased so that one mailbox is one identity."""
    value = (value or "").strip()
    if not value:
        raise InvalidField(field, "L'adresse e-mail est obligatoire.")
    if len(value) > EMAIL_MAX:
        raise InvalidField(field, f"L'adresse e-mail ne doit pas dépasser {EMAIL_MAX} caractères.")
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidField(field, f"L'adresse e-mail « {value} » n'est pas valide.") from error
    return result.normalized.lower()


def clean_name(value: str | None, *, field: str, label: str) -> str:
    """A person's nom or prénom: letters, spaces, hyphens, apostrophes; never empty."""
    value = _collapse(value or "")
    if not value:
        raise InvalidField(field, f"Le champ « {label} » est obligatoire.")
    if len(value) > NAME_MAX:
        raise InvalidField(
            field, f"Le champ « {label} » ne doit pas dépasser {NAME_MAX} caractères."
        )
    if not _NAME_RE.match(value):
        raise InvalidField(
            field,
            f"Le champ « {label} » ne peut contenir que des lettres, des espaces, des tirets "
            "et des apostrophes.",
        )
    return value


def clean_optional_text(
    value: str | None, *, field: str, label: str, max_length: int
) -> str | None:
    value = _collapse(value or "")
    if not value:
        return None
    _printable(field, value)
    if len(value) > max_length:
        raise InvalidField(
            field, f"Le champ « {label} » ne doit pas dépasser {max_length} caractères."
        )
    return value


def clean_phone(value: str | None, *, field: str, label: str) -> str | None:
    """A phone number kept as digits (with a leading + for international numbers)."""
    value = (value or "").strip()
    if not value:
        return None
    compact = re.sub(r"[\s.()-]", "", value)
    if not _PHONE_RE.match(compact):
        raise InvalidField(
            field, f"Le numéro « {value} » n'est pas un numéro de téléphone valide ({label})."
        )
    return compact


def clean_french_phone(value: str | None, *, field: str, mobile: bool) -> str | None:
    """A French number — a mobile (06, 07) when `mobile`, else a landline (01 to 05, 09) — in
    the national form the hub keeps (« 0612345678 »); None when left empty."""
    raw = (value or "").strip()
    if not raw:
        return None
    match = _FRENCH_PHONE_RE.match(_PHONE_SEPARATORS.sub("", raw))
    if match is not None and match.group(1)[0] in (
        MOBILE_PREFIXES if mobile else LANDLINE_PREFIXES
    ):
        return "0" + match.group(1)
    shown = raw if len(raw) <= PHONE_SHOWN_MAX else raw[:PHONE_SHOWN_MAX] + "…"
    raise InvalidField(field, (MOBILE_INVALID if mobile else LANDLINE_INVALID).format(shown))


def clean_free_text(value: str | None, *, field: str, label: str, max_length: int) -> str | None:
    """A free text of several lines (a comment): its lines kept, other control characters
    refused; None when left empty."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return None
    if any(unicodedata.category(ch) in {"Cc", "Cf", "Co", "Cs"} for ch in text if ch not in "\n\t"):
        raise InvalidField(field, f"Le champ « {label} » contient des caractères non autorisés.")
    if len(text) > max_length:
        raise InvalidField(
            field, f"Le champ « {label} » ne doit pas dépasser {max_length} caractères."
        )
    return text


def clean_username(value: str | None, *, field: str = "username") -> str:
    value = (value or "").strip().lower()
    if not _USERNAME_RE.match(value):
        raise InvalidField(
            field,
            "L'identifiant doit compter de 3 à 64 caractères : lettres minuscules, chiffres, "
            "points, tirets ou soulignés.",
        )
    return value


def clean_matricule(value: str | None, *, field: str = "matricule") -> str:
    """The structure's matricule (id client, BCR): digits only."""
    value = (value or "").strip()
    if not value:
        raise InvalidField(field, "Le matricule est obligatoire.")
    if not value.isascii() or not value.isdigit() or len(value) > 20:
        raise InvalidField(
            field,
            f"Le matricule « {value} » doit être composé uniquement de chiffres (20 au plus).",
        )
    return value


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def siret_valid(siret: str) -> bool:
    """INSEE's check: the Luhn key, except La Poste's establishments (digit sum multiple of 5)."""
    if len(siret) != 14 or not siret.isascii() or not siret.isdigit():
        return False
    if siret.startswith(LA_POSTE_SIREN) and siret != LA_POSTE_SIREN + "00001":
        return sum(int(c) for c in siret) % 5 == 0
    return luhn_valid(siret)


def clean_siret(value: str | None, *, field: str = "siret") -> str:
    raw = (value or "").strip()
    siret = re.sub(r"\s", "", raw)
    if not siret:
        raise InvalidField(field, "Le SIRET est obligatoire.")
    if len(siret) != 14 or not siret.isascii() or not siret.isdigit():
        raise InvalidField(field, f"Le SIRET « {raw} » doit compter 14 chiffres.")
    if not siret_valid(siret):
        raise InvalidField(field, f"Le SIRET « {raw} » est invalide (clé de contrôle incorrecte).")
    return siret


def clean_contract_number(value: str | None, *, field: str = "contract") -> str:
    value = (value or "").strip().upper()
    if not value:
        raise InvalidField(field, "Le numéro de contrat est obligatoire.")
    if not _CONTRACT_RE.match(value):
        raise InvalidField(
            field,
            f"Le numéro de contrat « {value} » n'est pas valide (lettres, chiffres, tirets ; "
            "50 caractères au plus).",
        )
    return value


def clean_structure_name(value: str | None, *, field: str = "name") -> str:
    value = _collapse(value or "")
    if not value:
        raise InvalidField(field, "Le nom de la structure est obligatoire.")
    _printable(field, value)
    if len(value) > STRUCTURE_NAME_MAX:
        raise InvalidField(
            field,
            f"Le nom de la structure ne doit pas dépasser {STRUCTURE_NAME_MAX} caractères.",
        )
    return value


def search_key(*parts: str | None) -> str:
    """Lower-case, accent-free text for case- and accent-insensitive search (« chloe » finds
    « Chloé »)."""
    text = " ".join(p for p in parts if p)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
