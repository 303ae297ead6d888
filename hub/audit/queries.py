"""Reading the audit log back: the latest events, and following new ones as they are written.

Events are ordered by id, the order they were written in; `occurred_at` is the `now` a service
was given and need not increase with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from hub.audit.models import AuditEvent

# How far back, in ids, a follower looks again for events committed late (see `AuditFollower`).
LATE_COMMIT_WINDOW = 1000
# How many new events one poll reads at most beyond that window; the next poll reads the rest.
POLL_BATCH = 1000


def _matching(structure_id: int | None, action_prefix: str | None) -> Select[tuple[AuditEvent]]:
    query = select(AuditEvent)
    if structure_id is not None:
        query = query.where(AuditEvent.structure_id == structure_id)
    if action_prefix:
        # autoescape: `_` and `%` are common in action names and must not act as wildcards.
        query = query.where(AuditEvent.action.startswith(action_prefix, autoescape=True))
    return query


def latest_events(
    session: Session,
    *,
    limit: int,
    structure_id: int | None = None,
    action_prefix: str | None = None,
    after_id: int | None = None,
) -> list[AuditEvent]:
    """The newest `limit` events matching the filters (and newer than `after_id`), newest last,
    the way `tail` prints a log."""
    if limit <= 0:
        return []
    query = _matching(structure_id, action_prefix)
    if after_id is not None:
        query = query.where(AuditEvent.id > after_id)
    newest_first = session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()
    return list(reversed(newest_first))


def newest_event_id(
    session: Session, *, structure_id: int | None = None, action_prefix: str | None = None
) -> int:
    """The id of the newest matching event, 0 when there is none."""
    query = _matching(structure_id, action_prefix).with_only_columns(func.max(AuditEvent.id))
    return session.scalar(query) or 0


@dataclass
class AuditFollower:
    """Hands out each new matching event once, poll after poll, for `hub audit tail --follow`.

    Ids are handed out when an event is inserted but become visible when its transaction
    commits, so on PostgreSQL event 11 may be seen before event 10 commits. Following "ids above
    the last one seen" would skip event 10 for ever; instead each poll looks again at the last
    `window` ids and leaves out the events already handed out. The follower holds no session:
    each poll is given one, so that it reads what was committed since the previous poll.
    """

    structure_id: int | None = None
    action_prefix: str | None = None
    window: int = LATE_COMMIT_WINDOW
    last_id: int = 0
    _floor: int = field(default=0, init=False, repr=False)
    _handed_out: set[int] = field(default_factory=set, init=False, repr=False)

    def start(self, session: Session, *, limit: int) -> list[AuditEvent]:
        """The latest `limit` events; anything older than the newest of them is never "new"."""
        events = latest_events(
            session, limit=limit, structure_id=self.structure_id, action_prefix=self.action_prefix
        )
        if events:
            self._floor = events[-1].id
        else:
            self._floor = newest_event_id(
                session, structure_id=self.structure_id, action_prefix=self.action_prefix
            )
        self.last_id = self._floor
        self._handed_out = set()
        return events

    def poll(self, session: Session) -> list[AuditEvent]:
        """The matching events committed since the previous poll (or `start`), oldest first."""
        low = max(self._floor, self.last_id - self.window)
        query = (
            _matching(self.structure_id, self.action_prefix)
            .where(AuditEvent.id > low)
            .order_by(AuditEvent.id)
            # At most `window` of these ids were read before, so a batch always brings new ones.
            .limit(self.window + POLL_BATCH)
        )
        events = [e for e in session.scalars(query) if e.id not in self._handed_out]
        if not events:
            return []
        self.last_id = max(self.last_id, events[-1].id)
        self._handed_out.update(e.id for e in events)
        self._handed_out = {i for i in self._handed_out if i > self.last_id - self.window}
        return events
