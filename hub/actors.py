"""Who does a change: a signed-in person (`User`) or a trusted in-process caller (`System`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    # For the type alone: shared infrastructure imports no area (see the import contracts).
    from hub.users.models import User


@dataclass(frozen=True)
class System:
    """A caller outside any person's session (command line, demo loader, support console).

    Policies let it through; the audit log names it by `label`, e.g. ``cli:structures-import``.
    """

    label: str


SUPPORT_PREFIX = "support:"


@dataclass(frozen=True)
class SupportOperator(System):
    """A support operator acting from the console (R11): trusted like `System` (the console
    checks their role), named in the audit log by directory identifiant and name, e.g.
    ``support:sophie.support (Sophie Bernard)``, since the hub has no row of theirs."""

    login: str = ""
    name: str = ""

    @classmethod
    def named(cls, login: str, name: str) -> SupportOperator:
        return cls(label=f"{SUPPORT_PREFIX}{login} ({name})", login=login, name=name)


def operator_name(label: str) -> str | None:
    """The operator's name in an audit log's actor (`SupportOperator.label`), else None."""
    if not label.startswith(SUPPORT_PREFIX) or not label.endswith(")") or " (" not in label:
        return None
    return label[label.index(" (") + 2 : -1]


Actor: TypeAlias = "User | System"
ANONYMOUS = System("anonyme")  # the actor of attempts that signed nobody in


def actor_id(actor: Actor) -> int | None:
    return None if isinstance(actor, System) else actor.id


def actor_label(actor: Actor) -> str:
    return actor.label if isinstance(actor, System) else actor.username
