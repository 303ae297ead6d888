"""`hub purge`: deleting the rows whose life is over, so that the tables the hot paths read stay
the size of what is alive.

Each kind of row says, in one SQL condition, when it is past any use; the retention choices are
the constants below, each with its reason. Rows go in batches, each batch a short transaction of
its own (`retrying`): a large purge never holds locks for long and runs beside the servers, on
SQLite and PostgreSQL alike. A batch selects ids under the condition, then deletes those ids
under the condition again, so that a row that came back to life in between (an invitation sent
again) stays.

The audit log is never purged: it is the history (and the last sign-in is read from its
`session.sign_in` events). A purge that deleted something writes one `maintenance.purge` event
with its counts.

Plain Python, no Flask: the command (`idp.cli.purge`) and a background scheduler call `purge`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from hub.accounts.models import Invitation, InvitationStatus
from hub.actors import Actor, System
from hub.audit.services import record
from hub.email_changes.models import EmailChange
from hub.mail.models import MailStatus, OutboxMessage
from hub.oidc.models import AuthorizationCode, BrowserSession, LogoutDelivery, OAuthToken
from hub.registration.models import Registration
from hub.reminders.models import ReminderSent
from hub.support.models import SupportSession
from hub.throttle import LoginThrottle
from hub.transactions import retrying

# Codes, tokens and single sign-on sessions are kept a day past their end: an instance whose
# clock is a little behind, a late replay (answered the same either way), or an operator
# looking into last night's incident still finds them.
GRACE = timedelta(days=1)
# A console session lives at most `Support.session_hours` (8 h by default); two days is past
# any sensible setting, the grace included.
SUPPORT_SESSION_KEEP = timedelta(days=2)
# Mailed links (registration, e-mail change) are kept a week past their expiry, so that a link
# followed late still says « expiré » rather than « invalide ». A completed registration goes
# too: the person, their account and their CGU acceptance hold what it kept.
LINK_KEEP = timedelta(days=7)
# Expired invitations stay in their administrators' list, where they may be sent again
# (`hub.accounts.invitations.pending`), for three months; cancelled ones go then too. Accepted
# ones stay: they name the account they opened.
INVITATION_KEEP = timedelta(days=90)
# Throttle windows are minutes long (`Throttling.window_minutes`): a row whose window started a
# day ago and whose lock is over counts nothing any more (the next failure starts at 1).
THROTTLE_KEEP = timedelta(days=1)
# A reminder marker is keyed by account, threshold and expiry date; once that date is past no
# reminder for it can be due again. A month of margin, for an account whose expiry is moved.
REMINDER_MARKER_KEEP = timedelta(days=30)
# Back-channel logouts delivered or given up: a few days, for an operator asking why a portal
# was (not) told.
LOGOUT_DELIVERY_KEEP = timedelta(days=7)
# Sent mail: a month, for « did they get the mail? »; failed mail, which an operator may retry
# (`hub mail retry`), three months.
SENT_MAIL_KEEP = timedelta(days=30)
FAILED_MAIL_KEEP = timedelta(days=90)

BATCH = 1000
PURGE_ACTOR = System("maintenance:purge")


@dataclass(frozen=True)
class Kind:
    """One kind of row to purge: its primary key, and when a row is past its life at `now`."""

    name: str
    key: InstrumentedAttribute[Any]
    expired: Callable[[datetime], ColumnElement[bool]]


def _token_alive(token: type[OAuthToken], now: datetime) -> ColumnElement[bool]:
    """A token still of use: not revoked (or lately), its access or refresh token unexpired."""
    cutoff = now - GRACE
    return and_(
        or_(token.revoked_at.is_(None), token.revoked_at > cutoff),
        or_(token.access_expires_at > cutoff, token.refresh_expires_at > cutoff),
    )


def _dead_family(now: datetime) -> ColumnElement[bool]:
    """Refresh-token replay detection needs every used token of a family while one token of it
    is alive: a family goes whole, once none is."""
    member = aliased(OAuthToken)
    return ~exists().where(member.family == OAuthToken.family, _token_alive(member, now))


def _spent_code(now: datetime) -> ColumnElement[bool]:
    """An expired code, unless a token issued from it is alive: a used code presented again
    revokes what it gave (RFC 6749 §4.1.2), so it stays as long as that is something."""
    issued = aliased(OAuthToken)
    return and_(
        AuthorizationCode.expires_at < now - GRACE,
        ~exists().where(issued.code_id == AuthorizationCode.id, _token_alive(issued, now)),
    )


def _over_session(now: datetime) -> ColumnElement[bool]:
    """An ended or expired sign-in whose tokens are all dead (they die with it)."""
    issued = aliased(OAuthToken)
    cutoff = now - GRACE
    return and_(
        or_(BrowserSession.ended_at < cutoff, BrowserSession.expires_at < cutoff),
        ~exists().where(issued.browser_session_id == BrowserSession.id, _token_alive(issued, now)),
    )


KINDS = (
    Kind("tokens", OAuthToken.id, _dead_family),
    Kind("authorization_codes", AuthorizationCode.id, _spent_code),
    Kind("browser_sessions", BrowserSession.id, _over_session),
    Kind(
        "support_sessions",
        SupportSession.id,
        lambda now: or_(
            SupportSession.ended_at < now - GRACE,
            SupportSession.created_at < now - SUPPORT_SESSION_KEEP,
        ),
    ),
    Kind("registrations", Registration.id, lambda now: Registration.expires_at < now - LINK_KEEP),
    Kind("email_changes", EmailChange.id, lambda now: EmailChange.expires_at < now - LINK_KEEP),
    Kind(
        "invitations",
        Invitation.id,
        lambda now: and_(
            Invitation.status.in_([InvitationStatus.PENDING, InvitationStatus.CANCELLED]),
            Invitation.expires_at < now - INVITATION_KEEP,
        ),
    ),
    Kind(
        "throttles",
        LoginThrottle.key,
        lambda now: and_(
            LoginThrottle.window_started_at < now - THROTTLE_KEEP,
            or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
        ),
    ),
    Kind(
        "reminder_markers",
        ReminderSent.id,
        lambda now: ReminderSent.expires_at < now - REMINDER_MARKER_KEEP,
    ),
    Kind(
        "logout_deliveries",
        LogoutDelivery.id,
        lambda now: or_(
            LogoutDelivery.delivered_at < now - LOGOUT_DELIVERY_KEEP,
            LogoutDelivery.abandoned_at < now - LOGOUT_DELIVERY_KEEP,
        ),
    ),
    Kind(
        "sent_mail",
        OutboxMessage.id,
        lambda now: and_(
            OutboxMessage.status == MailStatus.SENT, OutboxMessage.sent_at < now - SENT_MAIL_KEEP
        ),
    ),
    Kind(
        "failed_mail",
        OutboxMessage.id,
        lambda now: and_(
            OutboxMessage.status == MailStatus.FAILED,
            OutboxMessage.created_at < now - FAILED_MAIL_KEEP,
        ),
    ),
)


@dataclass(frozen=True)
class PurgeReport:
    """How many rows of each kind went (or, in a dry run, would go), in `KINDS` order."""

    counts: dict[str, int] = field(default_factory=dict)
    dry_run: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def purge(
    session_factory: Callable[[], Session],
    *,
    now: datetime,
    batch: int = BATCH,
    dry_run: bool = False,
    by: Actor = PURGE_ACTOR,
) -> PurgeReport:
    """Deletes every row past its life at `now`, `batch` rows per transaction, and audits the
    counts (`maintenance.purge`, by `by`) when something went; `dry_run` only counts."""
    if batch < 1:
        raise ValueError("batch must be at least 1")
    counts = {
        kind.name: (
            retrying(session_factory, lambda session, kind=kind: _count(session, kind, now=now))
            if dry_run
            else _purge_kind(session_factory, kind, now=now, batch=batch)
        )
        for kind in KINDS
    }
    report = PurgeReport(counts=counts, dry_run=dry_run)
    if not dry_run and report.total:
        retrying(session_factory, lambda session: _audit(session, report, by=by, now=now))
    return report


def _count(session: Session, kind: Kind, *, now: datetime) -> int:
    return session.scalar(select(func.count(kind.key)).where(kind.expired(now))) or 0


def _purge_kind(
    session_factory: Callable[[], Session], kind: Kind, *, now: datetime, batch: int
) -> int:
    total = 0
    while True:
        selected, deleted = retrying(
            session_factory, lambda session: _delete_batch(session, kind, now=now, batch=batch)
        )
        total += deleted
        if selected < batch:
            return total


def _delete_batch(session: Session, kind: Kind, *, now: datetime, batch: int) -> tuple[int, int]:
    """One transaction: up to `batch` ids past their life, deleted if they still are."""
    ids = list(session.scalars(select(kind.key).where(kind.expired(now)).limit(batch)))
    if not ids:
        return 0, 0
    result = session.execute(
        delete(kind.key.class_)
        .where(kind.key.in_(ids), kind.expired(now))
        .execution_options(synchronize_session=False)
    )
    return len(ids), result.rowcount  # type: ignore[attr-defined]


def _audit(session: Session, report: PurgeReport, *, by: Actor, now: datetime) -> None:
    record(session, actor=by, action="maintenance.purge", now=now, after=dict(report.counts))
