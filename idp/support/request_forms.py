"""The « Changer d'administrateur » form (R11): its fields, what a submitted form holds, and what
a link may fill in beforehand (the portal, and the structure's numbers from R10's page)."""

from __future__ import annotations

from dataclasses import asdict, fields

from werkzeug.datastructures import MultiDict

from hub.support.requests import COMMENT_MAX, RequestForm

FIELDS = tuple(field.name for field in fields(RequestForm))
COMMENT_FIELD = "comment"  # a <textarea>: the input guard lets its line breaks through
PREFILLED = ("portal", "matricule", "contract")
TEXT_MAX = 300  # longer than any field accepts: the hub's cleaning says which one is too long
COMMENT_READ_MAX = COMMENT_MAX + 1  # one more than accepted, so that the cleaning says so


def read(form: MultiDict[str, str]) -> RequestForm:
    """The form as typed, each value cut just beyond what its field accepts."""
    return RequestForm(
        **{
            name: form.get(name, "")[: COMMENT_READ_MAX if name == COMMENT_FIELD else TEXT_MAX]
            for name in FIELDS
        }
    )


def prefilled(query: MultiDict[str, str]) -> RequestForm:
    """An empty form, with what the link that led here already knows."""
    return RequestForm(**{name: query.get(name, "")[:TEXT_MAX] for name in PREFILLED})


def values_of(form: RequestForm) -> dict[str, str]:
    return asdict(form)
