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


Actor: TypeAlias = "User | System"
ANONYMOUS = System("anonyme")  # the actor of attempts that signed nobody in


def actor_id(actor: Actor) -> int | None:
    return None if isinstance(actor, System) else actor.id


def actor_label(actor: Actor) -> str:
    return actor.label if isinstance(actor, System) else actor.username
