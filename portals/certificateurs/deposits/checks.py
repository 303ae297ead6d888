"""The record checks of a deposit (R13), the same for CSV and XML: each record comes out with
the list of its rejections, in French, empty when it is accepted.

Streaming: one record at a time, constant memory except the duplicate index, which keeps one
64-bit hash per accepted record (and the location of its first occurrence, to name it).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from portals.certificateurs.deposits.formats import FIELDS, OPTIONAL_FIELDS, Record
from portals.kit.clock import PARIS, utcnow

RESULTS = ("admis", "admis partiellement", "ajourné")
"""The allowed values of `resultat` (compared without regard to case)."""

CODE = re.compile(r"(RNCP\d{1,6}|RS\d{1,6})")
NAME = re.compile(r"[^\W\d_]+(?:[ '’-]+[^\W\d_]+)*")
"""Letters (accented ones included), words joined by spaces, hyphens or apostrophes."""
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
        rejections = _rejections(record, today)
        if not rejections:
            key = _candidate_key(record)
            first = first_seen.get(key)
            if first is None:
                first_seen[key] = record.location
            else:
                rejections = [Rejection(record.location, RECORD, _duplicate_of(first))]
        yield record, rejections


def _rejections(record: Record, today: date) -> list[Rejection]:
    if record.structure_error:
        return [Rejection(record.location, RECORD, record.structure_error)]
    rejections = []
    for name in FIELDS:
        value = record.fields.get(name, "")
        try:
            _check_field(name, value, record.fields, today)
        except _Invalid as problem:
            rejections.append(Rejection(record.location, name, str(problem)))
    return rejections


def _check_field(name: str, value: str, fields: dict[str, str], today: date) -> None:
    if not value:
        if name in OPTIONAL_FIELDS:
            return
        raise _Invalid(f"{LABELS[name]} est obligatoire.")
    if name == "code_certification":
        _check_code(value)
    elif name == "numero_candidat":
        _check_candidate_number(value)
    elif name in ("nom", "prenom"):
        _check_name(name, value)
    elif name == "date_naissance":
        _check_birth(value, today)
    elif name == "date_obtention":
        _check_obtention(value, fields.get("date_naissance", ""), today)
    elif name == "resultat":
        _check_result(value)


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


def _check_name(name: str, value: str) -> None:
    if len(value) > MAX_NAME:
        raise _Invalid(f"{LABELS[name]} dépasse {MAX_NAME} caractères.")
    if not NAME.fullmatch(value):
        raise _Invalid(
            f"{LABELS[name]} « {value} » ne doit contenir que des lettres, des espaces, des "
            "traits d'union et des apostrophes."
        )


def _check_birth(value: str, today: date) -> None:
    born = _date(value, "date_naissance")
    if born >= today:
        raise _Invalid(f"La date de naissance {value} n'est pas dans le passé.")
    if born < _years_after(today, -MAX_AGE):
        raise _Invalid(f"La date de naissance {value} n'est pas plausible (plus de {MAX_AGE} ans).")


def _check_obtention(value: str, birth: str, today: date) -> None:
    obtained = _date(value, "date_obtention")
    if obtained > today:
        raise _Invalid(f"La date d'obtention {value} est dans le futur.")
    try:
        born = _date(birth, "date_naissance")
    except _Invalid:
        return  # the birth date's own rejection says what is wrong
    if obtained < _years_after(born, MIN_AGE_AT_OBTENTION):
        raise _Invalid(
            f"La date d'obtention {value} est moins de {MIN_AGE_AT_OBTENTION} ans après la "
            "date de naissance."
        )


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


def _candidate_key(record: Record) -> int:
    """A 64-bit hash of (certification, nom, prénom, date de naissance): 8 bytes of identity
    per accepted record, collisions negligible at any deposit's size (~10⁻⁹ for 100 000)."""
    fields = record.fields
    born = _date(fields["date_naissance"], "date_naissance").isoformat()
    parts = (fields["code_certification"], _folded(fields["nom"]), _folded(fields["prenom"]), born)
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def _folded(name: str) -> str:
    """« Élodie  Le-Gall » and « elodie le gall » are the same person's name."""
    decomposed = unicodedata.normalize("NFKD", name)
    letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(re.split(r"[ '’-]+", letters.casefold()))


def _duplicate_of(first: str) -> str:
    """« Doublon de la ligne 3 … » (CSV), « Doublon de l'enregistrement 2 (ligne 9) … » (XML)."""
    of = f"de la {first}" if first.startswith("ligne") else f"de l'{first}"
    return f"Doublon {of} : même candidat (nom, prénom, date de naissance) et même certification."
