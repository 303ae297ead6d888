"""Who does a change: a signed-in person (`User`) or a trusted in-process caller (`System`)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.users.models import User


@dataclass(frozen=True)
class System:
    """A caller outside any person's session (command line, demo loader, support console).

    Policies let it through; the audit log names it by `label`, e.g. ``cli:structures-import``.
    """

    label: str


Actor = User | System
ANONYMOUS = System("anonyme")  # the actor of attempts that signed nobody in


def actor_id(actor: Actor) -> int | None:
    return actor.id if isinstance(actor, User) else None


def actor_label(actor: Actor) -> str:
    return actor.username if isinstance(actor, User) else actor.label
