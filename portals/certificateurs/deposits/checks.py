"""The record checks of a deposit (R13), the same for CSV and XML: each record comes out with
the list of its rejections, in French, empty when it is accepted.

Streaming: one record at a time, constant memory except the duplicate index, which keeps one
64-bit hash per accepted record (and the location of its first occurrence, to name it).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, TypeVar

from portals.certificateurs.deposits.formats import FIELDS, OPTIONAL_FIELDS, Record
from portals.kit.clock import PARIS, utcnow

T = TypeVar("T")

RESULTS = ("admis", "admis partiellement", "ajourné")
"""The allowed values of `resultat` (compared without regard to case)."""

CODE = re.compile(r"(RNCP\d{1,6}|RS\d{1,6})")
NAME = re.compile(r"[^\W\d_]+(?:[ '’-]+[^\W\d_]+)*")
"""Letters (accented ones included), words joined by spaces, hyphens or apostrophes."""
SEPARATORS = re.compile(r"[ '’-]+")
CANDIDATE_NUMBER = re.compile(r"[A-Za-z0-9._/-]+")
DATE_FR = re.compile(r"(\d{2})/(\d{2})/(\d{4})")
DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")

MAX_NAME = 100
MAX_CANDIDATE_NUMBER = 50
MAX_AGE = 120
MIN_AGE_AT_OBTENTION = 14

RECORD = "enregistrement"
"""The `field` of a rejection about the whole record (its shape, a duplicate)."""

LABELS = {
    "code_certification": "Le code de certification",
    "numero_candidat": "Le numéro de candidat",
    "nom": "Le nom",
    "prenom": "Le prénom",
    "date_naissance": "La date de naissance",
    "date_obtention": "La date d'obtention",
    "resultat": "Le résultat",
}


@dataclass(frozen=True)
class Rejection:
    location: str
    field: str
    reason: str


class _Invalid(ValueError):
    """One field's problem, in French, raised by a field rule and turned into a `Rejection`."""


def check(
    records: Iterable[Record], *, today: date | None = None
) -> Iterator[tuple[Record, list[Rejection]]]:
    """Each record with its rejections (an empty list: accepted), in the file's order.

    `today` (Europe/Paris by default) is when dates stop being in the past. A duplicate is the
    same candidate (nom, prénom, date de naissance, compared without regard to case and
    accents) for the same certification as an earlier ACCEPTED record: the second is
    rejected and names the first; a rejected record reserves nothing.
    """
    today = today or utcnow().astimezone(PARIS).date()
    first_seen: dict[int, str] = {}
    for record in records:
        rejections, born = _rejections(record, today)
        if born is not None and not rejections:
            key = _candidate_key(record.fields, born)
            first = first_seen.setdefault(key, record.location)
            if first is not record.location:  # an earlier record holds the key
                rejections = [Rejection(record.location, RECORD, _duplicate_of(first))]
        yield record, rejections


def _rejections(record: Record, today: date) -> tuple[list[Rejection], date | None]:
    """The record's rejections, one at most per field, and its birth date when it has one."""
    if record.structure_error:
        return [Rejection(record.location, RECORD, record.structure_error)], None
    fields = record.fields
    problems: dict[str, str] = {}
    for name in FIELDS:
        if not fields.get(name) and name not in OPTIONAL_FIELDS:
            problems[name] = f"{LABELS[name]} est obligatoire."
    born = _checked("date_naissance", fields, problems, _birth_date, today)
    _checked("date_obtention", fields, problems, _obtention_date, today, born)
    _checked("code_certification", fields, problems, _check_code)
    _checked("numero_candidat", fields, problems, _check_candidate_number)
    _checked("nom", fields, problems, _check_name, "nom")
    _checked("prenom", fields, problems, _check_name, "prenom")
    _checked("resultat", fields, problems, _check_result)
    rejections = [
        Rejection(record.location, name, problems[name]) for name in FIELDS if name in problems
    ]
    return rejections, born


def _checked(
    name: str, fields: dict[str, str], problems: dict[str, str], rule: Callable[..., T], *args: Any
) -> T | None:
    """`rule(value, *args)`'s result, or None with its problem noted when it refuses; a
    missing value is left to the « obligatoire » rejection."""
    value = fields.get(name, "")
    if not value or name in problems:
        return None
    try:
        return rule(value, *args)
    except _Invalid as problem:
        problems[name] = str(problem)
        return None


def _check_code(value: str) -> None:
    if not CODE.fullmatch(value):
        raise _Invalid(
            f"Le code de certification « {value} » n'a pas la forme attendue : RNCP suivi de "
            "chiffres (par exemple RNCP34567) ou RS suivi de chiffres (par exemple RS5678)."
        )


def _check_candidate_number(value: str) -> None:
    if len(value) > MAX_CANDIDATE_NUMBER:
        raise _Invalid(f"Le numéro de candidat dépasse {MAX_CANDIDATE_NUMBER} caractères.")
    if not CANDIDATE_NUMBER.fullmatch(value):
        raise _Invalid(
            f"Le numéro de candidat « {value} » ne doit contenir que des lettres sans accent, "
            "des chiffres et les caractères . _ / -."
        )


def _check_name(value: str, name: str) -> None:
    if len(value) > MAX_NAME:
        raise _Invalid(f"{LABELS[name]} dépasse {MAX_NAME} caractères.")
    if not NAME.fullmatch(value):
        raise _Invalid(
            f"{LABELS[name]} « {value} » ne doit contenir que des lettres, des espaces, des "
            "traits d'union et des apostrophes."
        )


def _birth_date(value: str, today: date) -> date:
    born = _date(value, "date_naissance")
    if born >= today:
        raise _Invalid(f"La date de naissance {value} n'est pas dans le passé.")
    if born < _years_after(today, -MAX_AGE):
        raise _Invalid(f"La date de naissance {value} n'est pas plausible (plus de {MAX_AGE} ans).")
    return born


def _obtention_date(value: str, today: date, born: date | None) -> date:
    """After the birth date's own check: without a valid birth date, only the future is
    checked (the birth date's rejection says what is wrong)."""
    obtained = _date(value, "date_obtention")
    if obtained > today:
        raise _Invalid(f"La date d'obtention {value} est dans le futur.")
    if born is not None and obtained < _years_after(born, MIN_AGE_AT_OBTENTION):
        raise _Invalid(
            f"La date d'obtention {value} est moins de {MIN_AGE_AT_OBTENTION} ans après la "
            "date de naissance."
        )
    return obtained


def _check_result(value: str) -> None:
    if value.lower() not in RESULTS:
        allowed = ", ".join(f"« {result} »" for result in RESULTS)
        raise _Invalid(f"Le résultat « {value} » n'est pas une valeur admise : {allowed}.")


def _date(value: str, name: str) -> date:
    """A date written JJ/MM/AAAA or AAAA-MM-JJ (both formats accepted in both files)."""
    if match := DATE_FR.fullmatch(value):
        day, month, year = match.groups()
    elif match := DATE_ISO.fullmatch(value):
        year, month, day = match.groups()
    else:
        raise _Invalid(f"{LABELS[name]} « {value} » doit être écrite JJ/MM/AAAA ou AAAA-MM-JJ.")
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise _Invalid(f"{LABELS[name]} {value} n'existe pas.") from None


def _years_after(day: date, years: int) -> date:
    """`day` moved by whole years; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


def _candidate_key(fields: dict[str, str], born: date) -> int:
    """A 64-bit hash of (certification, nom, prénom, date de naissance): 8 bytes of identity
    per accepted record, collisions negligible at any deposit's size (~10⁻⁹ for 100 000)."""
    parts = (
        fields["code_certification"],
        _folded(fields["nom"]),
        _folded(fields["prenom"]),
        born.isoformat(),
    )
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@lru_cache(maxsize=4096)
def _folded(name: str) -> str:
    """« Élodie  Le-Gall » and « elodie le gall » are the same person's name. Cached: a
    deposit repeats the same first names and family names again and again."""
    if not name.isascii():
        decomposed = unicodedata.normalize("NFKD", name)
        name = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(SEPARATORS.split(name.casefold()))


def _duplicate_of(first: str) -> str:
    """« Doublon de la ligne 3 … » (CSV), « Doublon de l'enregistrement 2 (ligne 9) … » (XML)."""
    of = f"de la {first}" if first.startswith("ligne") else f"de l'{first}"
    return f"Doublon {of} : même candidat (nom, prénom, date de naissance) et même certification."
