"""Writing the audit log: every change, in the transaction that makes it (and refusals after it).

The request id and the portal an action came from are ambient facts of the request, not of the
domain call, so they travel in a context variable set once per request or command.

The log knows no area's models: what an event is about names itself (`AuditSubject`, which
every model an event can be about satisfies), and the structure and portal it concerns are
known by their id and code.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, Protocol

from sqlalchemy import insert
from sqlalchemy.orm import Session

from hub.actors import Actor, actor_id, actor_label
from hub.audit.models import AuditEvent
from hub.compiled import CompiledStatement
from hub.errors import NotAllowed

log = logging.getLogger("hub.audit")
AUDITED_LOGIN_MAX = 100  # what the audit log keeps of a submitted identifiant


class AuditSubject(Protocol):
    """What an event can be about (an account, a person, a structure, a portal, a client, a
    mail…): its kind, the same for every row of a model (`audit_type`, e.g. "account"), its id,
    and the words an operator reads (`audit_label`). The log copies all three, so that it
    outlives what it speaks of."""

    audit_type: ClassVar[str]

    @property
    def id(self) -> int: ...

    @property
    def audit_label(self) -> str: ...


class StructureRef(Protocol):
    """What the audit log needs of the structure an event concerns: its id (a `Structure`)."""

    @property
    def id(self) -> int: ...


class PortalRef(Protocol):
    """What the audit log needs of a portal: a `Portal`, or a cached copy of one."""

    @property
    def code(self) -> str: ...


@dataclass(frozen=True)
class AuditContext:
    request_id: str | None = None
    via_portal: str | None = None


_context: ContextVar[AuditContext] = ContextVar(
    "audit_context",
    default=AuditContext(),  # noqa: B039 - frozen, hence shared safely
)


def enter_audit_context(
    *, request_id: str | None = None, via_portal: str | None = None
) -> Token[AuditContext]:
    """For frameworks whose hooks cannot hold a `with` block (a request's before/teardown)."""
    return _context.set(AuditContext(request_id=request_id, via_portal=via_portal))


def leave_audit_context(token: Token[AuditContext]) -> None:
    _context.reset(token)


def current_audit_context() -> AuditContext:
    return _context.get()


@contextmanager
def audit_context(
    *, request_id: str | None = None, via_portal: str | None = None
) -> Iterator[None]:
    token = enter_audit_context(request_id=request_id, via_portal=via_portal)
    try:
        yield
    finally:
        leave_audit_context(token)


def describe(target: AuditSubject) -> tuple[str, str, str]:
    """(type, id, human label) of what an event is about."""
    return target.audit_type, str(target.id), target.audit_label


def _event_fields(
    actor: Actor,
    action: str,
    structure: StructureRef | None,
    portal: PortalRef | None,
    target: AuditSubject | None,
) -> dict[str, Any]:
    context = _context.get()
    target_type, target_id, target_label = describe(target) if target is not None else (None,) * 3
    return {
        "actor_id": actor_id(actor),
        "actor": actor_label(actor),
        "action": action,
        "structure_id": structure.id if structure is not None else None,
        "portal": portal.code if portal is not None else None,
        "via_portal": context.via_portal,
        "target_type": target_type,
        "target_id": target_id,
        "target": target_label,
        "request_id": context.request_id,
    }


def event_row(
    *,
    actor: Actor,
    action: str,
    now: datetime,
    structure: StructureRef | None = None,
    portal: PortalRef | None = None,
    target: AuditSubject | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one event, for `record` and for `record_rows`."""
    fields = _event_fields(actor, action, structure, portal, target)
    return {"occurred_at": now, "before": before, "after": after, **fields}


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    now: datetime,
    structure: StructureRef | None = None,
    portal: PortalRef | None = None,
    target: AuditSubject | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    row = event_row(
        actor=actor,
        action=action,
        now=now,
        structure=structure,
        portal=portal,
        target=target,
        before=before,
        after=after,
    )
    _write(session, row)
    _log(row)


def _write(session: Session, row: dict[str, Any]) -> None:
    """One event, inserted now in the session's transaction rather than at its next flush: an
    event refers to nothing by a foreign key, so nothing need be written before it, and the
    flush's work for a new object costs several times the statement (`hub.oidc.sessions.start`
    gives the figures)."""
    _INSERT_EVENT.execute(session, row)


_INSERT_EVENT = CompiledStatement(insert(AuditEvent.__table__).inline())


def _log(event: dict[str, Any], *, level: int = logging.INFO) -> None:
    """The event's line in the application log, beside its row."""
    log.log(
        level,
        "%s by %s on %s [%s]",
        event["action"],
        event["actor"],
        event["target"],
        event["request_id"],
    )


def record_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Writes many events (`event_row`) in one statement, in the caller's transaction: a change
    made to a whole selection is audited in one round trip, not one per account."""
    if not rows:
        return
    session.execute(insert(AuditEvent), list(rows))
    for row in rows:
        _log(row)


def refusal(
    actor: Actor,
    action: str,
    *,
    structure: StructureRef | None = None,
    portal: PortalRef | None = None,
    target: AuditSubject | None = None,
    message: str | None = None,
) -> NotAllowed:
    """A `NotAllowed` carrying what the audit log must keep of the refused attempt."""
    attempt = _event_fields(actor, f"{action}.refused", structure, portal, target)
    return NotAllowed(message, attempt=attempt)


def record_refusal(session: Session, error: NotAllowed, *, now: datetime) -> bool:
    """Writes the refused attempt `error` carries; whether it carried one."""
    attempt = error.attempt
    if attempt is None:
        return False
    _write(session, {"occurred_at": now, "before": None, "after": None, **attempt})
    _log(attempt, level=logging.WARNING)
    return True


def audited_login(value: str) -> str:
    """What the audit log keeps of attacker-controlled text: printable and short."""
    printable = "".join(char for char in value if unicodedata.category(char) != "Cc")
    return printable[:AUDITED_LOGIN_MAX]
