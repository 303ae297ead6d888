"""Reading what a portal sends the API — query parameters and JSON bodies — into plain values.
Anything malformed becomes `InvalidField` naming the parameter (a 400 the portal can show next to
the right field), never an exception deeper down: no 500 for bad input."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from flask import request

from hub.errors import InvalidField

E = TypeVar("E", bound=StrEnum)

_INTEGER = re.compile(r"^[+-]?[0-9]{1,100}$")
_PATH_KEY = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
PAGE_MESSAGE = "Le numéro de page doit être un entier supérieur ou égal à 1."


def json_object(*, allowed: Collection[str] | None) -> dict[str, Any]:
    """The request's JSON object; a member outside `allowed` (unless None) is refused by name,
    so that a misspelt field is never silently ignored."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidField("body", "Le corps de la requête doit être un objet JSON.")
    unknown = sorted(set(body) - set(allowed if allowed is not None else body))
    if unknown:
        raise InvalidField(unknown[0], f"Champ inconnu : « {unknown[0]} ».")
    return body


def integer(args: Mapping[str, str], name: str, *, default: int, message: str) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if not _INTEGER.match(raw.strip()):
        raise InvalidField(name, message)
    return int(raw)


def page_number(args: Mapping[str, str]) -> int:
    page = integer(args, "page", default=1, message=PAGE_MESSAGE)
    if page < 1:
        raise InvalidField("page", PAGE_MESSAGE)
    return page


def page_size(args: Mapping[str, str], *, default: int) -> int:
    """As asked; the caller clamps it (huge sizes are reduced, not refused)."""
    return integer(
        args, "per_page", default=default, message="La taille de page doit être un entier."
    )


def choice(
    args: Mapping[str, Any],
    name: str,
    choices: type[E],
    *,
    default: E | None,
    blank_is_absent: bool = False,
) -> E | None:
    """One of `choices`, or `default` when absent. `blank_is_absent` for query parameters,
    where a form's « Tous » sends an empty value; in a JSON body, "" and null are mistakes."""
    if name not in args or (blank_is_absent and args[name] == ""):
        return default
    raw = args[name]
    try:
        return choices(raw)
    except ValueError:
        allowed = ", ".join(c.value for c in choices)
        raise InvalidField(name, f"Valeur invalide pour « {name} » ({allowed}).") from None


def boolean(body: Mapping[str, Any], name: str, *, default: bool | None) -> bool | None:
    if name not in body:
        return default
    if not isinstance(body[name], bool):
        raise InvalidField(name, f"« {name} » doit valoir true ou false.")
    return body[name]


def text(
    body: Mapping[str, Any],
    name: str,
    *,
    max_length: int,
    required: bool = False,
    printable: bool = True,
) -> str:
    """A string of at most `max_length` characters, printable ones only unless `printable` is
    false; "" when absent and optional."""
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise InvalidField(name, f"Le champ « {name} » est obligatoire.")
        return ""
    if not isinstance(value, str):
        raise InvalidField(name, f"Le champ « {name} » doit être du texte.")
    if len(value) > max_length or (printable and not value.isprintable()):
        raise InvalidField(
            name,
            f"Le champ « {name} » doit compter au plus {max_length} caractères"
            + (" imprimables." if printable else "."),
        )
    return value


def optional_text(body: Mapping[str, Any], name: str) -> str | None:
    """A person's field as typed (the hub's cleaning checks it further), or None."""
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise InvalidField(name, f"Le champ « {name} » doit être du texte.")
    return value


def id_list(body: Mapping[str, Any], name: str, *, maximum: int) -> list[int]:
    ids = body.get(name)
    if not isinstance(ids, list) or not ids:
        raise InvalidField(name, "Sélectionnez au moins un compte.")
    if len(ids) > maximum:
        raise InvalidField(name, f"Au plus {maximum} comptes par demande.")
    if not all(isinstance(i, int) and not isinstance(i, bool) and i > 0 for i in ids):
        raise InvalidField(name, "Les identifiants de compte sont des entiers positifs.")
    return ids


def names_something(segment: str) -> bool:
    """Whether a URL segment may be a portal code or a matricule at all; anything else (a NUL,
    which PostgreSQL refuses outright) names nothing and is answered « not found »."""
    return bool(_PATH_KEY.match(segment))
