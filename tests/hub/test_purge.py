"""`hub purge`: rows past their life go, in batches, and whatever is still of use stays — a live
sign-in, an unexpired code, a refresh-token family still in use, a registration whose link
still works — and the audit log is never touched."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from hub.accounts.models import Invitation, InvitationStatus, Role
from hub.audit.models import AuditEvent
from hub.email_changes.models import EmailChange
from hub.mail.models import MailStatus, OutboxMessage
from hub.oidc.models import (
    AuthorizationCode,
    BrowserSession,
    LogoutDelivery,
    OAuthToken,
    OidcClient,
    SessionClient,
)
from hub.purge import KINDS, purge
from hub.registration.models import Registration, RegistrationStatus
from hub.reminders.models import ReminderSent
from hub.support.models import OperatorRole, SupportSession
from hub.throttle import LoginThrottle
from tests.factories import make_account, make_portal, make_structure, make_user

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
_serial = itertools.count(1)


def _unique() -> str:
    return f"{next(_serial):064d}"


class World:
    """People, a portal and its client, and helpers that add one row of each kind, alive or
    past its life (`age`: how long ago it ended)."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session, self.now = session, now
        self.portal = make_portal(session, "soltea")
        self.structure = make_structure(session, portals=(self.portal,))
        self.user = make_user(session)
        self.account = make_account(
            session, now=now, structure=self.structure, portal=self.portal, user=self.user
        )
        self.client = OidcClient(
            client_id="soltea", secret_hash="0" * 64, portal=self.portal, name="SOLTÉA"
        )
        session.add(self.client)
        session.flush()

    def add(self, row):
        self.session.add(row)
        self.session.flush()
        return row

    def browser_session(self, *, ended: timedelta | None = None, expires: timedelta = 8 * HOUR):
        started = self.now + expires - 10 * HOUR
        row = self.add(
            BrowserSession(
                key_hash=_unique(), sid=_unique()[-43:], user=self.user, auth_time=started,
                last_seen_at=started, expires_at=self.now + expires,
                ended_at=self.now - ended if ended is not None else None,
            )
        )  # fmt: skip
        self.add(SessionClient(browser_session=row, client_id=self.client.id))
        return row

    def code(self, *, expires: timedelta, browser_session=None, used: bool = False):
        return self.add(
            AuthorizationCode(
                code_hash=_unique(), client_id=self.client.id, user_id=self.user.id,
                browser_session_id=browser_session.id if browser_session else None,
                redirect_uri="http://127.0.0.1:5001/callback", scope="openid",
                code_challenge="x" * 43, code_challenge_method="S256",
                auth_time=self.now - HOUR, created_at=self.now + expires - timedelta(minutes=1),
                expires_at=self.now + expires,
                used_at=self.now + expires - timedelta(seconds=30) if used else None,
            )
        )  # fmt: skip

    def token(self, family: str, *, access: timedelta, refresh: timedelta | None = None,
              used: bool = False, revoked: timedelta | None = None, code=None,
              browser_session=None):  # fmt: skip
        """A token row; `access`/`refresh`: when they expire, from now (negative: past)."""
        return self.add(
            OAuthToken(
                access_token_hash=_unique(),
                refresh_token_hash=_unique() if refresh is not None else None,
                family=family, client_id=self.client.id, user_id=self.user.id,
                browser_session_id=browser_session.id if browser_session else None,
                code_id=code.id if code else None, scope="openid",
                auth_time=self.now - 10 * HOUR, issued_at=self.now + access - timedelta(minutes=5),
                access_expires_at=self.now + access,
                refresh_expires_at=self.now + refresh if refresh is not None else None,
                refresh_used_at=self.now + access if used else None,
                revoked_at=self.now - revoked if revoked is not None else None,
            )
        )  # fmt: skip

    def registration(self, *, expires: timedelta, completed: bool = False):
        return self.add(
            Registration(
                nonce=_unique(), portal=self.portal, structure=self.structure,
                email="nouvelle@example.org", last_name="Nouvelle", first_name="Nina",
                terms_version="2026-01", terms_accepted_at=self.now + expires - DAY,
                created_at=self.now + expires - DAY, expires_at=self.now + expires,
                status=RegistrationStatus.COMPLETED if completed else RegistrationStatus.PENDING,
            )
        )  # fmt: skip

    def email_change(self, *, expires: timedelta):
        return self.add(
            EmailChange(
                nonce=_unique(), user_id=self.user.id, old_email=self.user.email,
                new_email="autre@example.org", created_at=self.now + expires - DAY,
                expires_at=self.now + expires,
            )
        )  # fmt: skip

    def invitation(self, *, expires: timedelta, status=InvitationStatus.PENDING):
        return self.add(
            Invitation(
                nonce=_unique(), status=status, structure=self.structure, portal=self.portal,
                role=Role.USER, invitee="quelqu.un@example.org",
                created_at=self.now + expires - 7 * DAY, sent_at=self.now + expires - 7 * DAY,
                expires_at=self.now + expires,
            )
        )  # fmt: skip

    def support_session(self, *, started: timedelta, ended: timedelta | None = None):
        return self.add(
            SupportSession(
                key_hash=_unique(), login="sophie.support", name="Sophie Bernard",
                role=OperatorRole.OPERATOR, created_at=self.now - started,
                last_seen_at=self.now - started, authenticated_at=self.now - started,
                ended_at=self.now - ended if ended is not None else None,
            )
        )  # fmt: skip

    def throttle(self, key: str, *, started: timedelta, locked: timedelta | None = None):
        return self.add(
            LoginThrottle(
                key=key, failures=3, window_started_at=self.now - started,
                locked_until=self.now + locked if locked is not None else None,
            )
        )  # fmt: skip

    def reminder(self, *, expired: timedelta, threshold: int = 30):
        return self.add(
            ReminderSent(
                account_id=self.account.id, threshold_days=threshold,
                expires_at=self.now - expired, sent_at=self.now - expired - 30 * DAY,
            )
        )  # fmt: skip

    def logout_delivery(self, *, delivered: timedelta | None = None,
                        abandoned: timedelta | None = None):  # fmt: skip
        return self.add(
            LogoutDelivery(
                client_id=self.client.id, logout_token="jwt", created_at=self.now - 30 * DAY,
                delivered_at=self.now - delivered if delivered is not None else None,
                abandoned_at=self.now - abandoned if abandoned is not None else None,
            )
        )  # fmt: skip

    def mail(self, status: MailStatus, *, age: timedelta):
        return self.add(
            OutboxMessage(
                created_at=self.now - age, recipient="jeanne@example.org", subject="Objet",
                text_body="Bonjour", template="test", status=status,
                sent_at=self.now - age if status is MailStatus.SENT else None,
            )
        )  # fmt: skip

    def audit(self, action: str, *, age: timedelta):
        return self.add(AuditEvent(occurred_at=self.now - age, actor="jeanne", action=action))


def populate(world: World) -> dict[str, list]:
    """Of each kind, rows past their life (left to go) and rows still of use (kept)."""
    now = world.now
    live_session = world.browser_session()
    over_session = world.browser_session(ended=2 * DAY, expires=-40 * HOUR)
    expired_session = world.browser_session(expires=-2 * DAY)
    recently_ended = world.browser_session(ended=2 * HOUR)
    # A family in use: its first refresh token used, its latest alive; the code it came from
    # expired long ago but must stay (a replay of it revokes the family).
    in_use_code = world.code(expires=-9 * HOUR, browser_session=live_session, used=True)
    in_use = [
        world.token("in-use", access=-8 * HOUR, refresh=8 * HOUR, used=True, code=in_use_code,
                    browser_session=live_session),
        world.token("in-use", access=4 * 60 * timedelta(seconds=1), refresh=8 * HOUR,
                    code=in_use_code, browser_session=live_session),
    ]  # fmt: skip
    # A family over: rotated, then its session ended and revoked it two days ago.
    over_code = world.code(expires=-3 * DAY, browser_session=over_session, used=True)
    over = [
        world.token("over", access=-3 * DAY, refresh=-2 * DAY, used=True, revoked=2 * DAY,
                    code=over_code, browser_session=over_session),
        world.token("over", access=-3 * DAY, refresh=-2 * DAY, revoked=2 * DAY,
                    code=over_code, browser_session=over_session),
    ]  # fmt: skip
    # Revoked an hour ago, at logout: kept for the grace day, its session too.
    just_revoked = world.token(
        "just-revoked", access=-HOUR, refresh=6 * HOUR, revoked=HOUR,
        browser_session=recently_ended,
    )  # fmt: skip
    gone = {
        "tokens": over,
        "authorization_codes": [over_code, world.code(expires=-2 * DAY)],
        "browser_sessions": [over_session, expired_session],
        "support_sessions": [
            world.support_session(started=3 * DAY),
            world.support_session(started=30 * HOUR, ended=26 * HOUR),
        ],
        "registrations": [
            world.registration(expires=-8 * DAY),
            world.registration(expires=-8 * DAY, completed=True),
        ],
        "email_changes": [world.email_change(expires=-8 * DAY)],
        "invitations": [
            world.invitation(expires=-91 * DAY),
            world.invitation(expires=-91 * DAY, status=InvitationStatus.CANCELLED),
        ],
        "throttles": [world.throttle("user:ancien", started=2 * DAY)],
        "reminder_markers": [world.reminder(expired=31 * DAY)],
        "logout_deliveries": [
            world.logout_delivery(delivered=8 * DAY),
            world.logout_delivery(abandoned=8 * DAY),
        ],
        "sent_mail": [world.mail(MailStatus.SENT, age=31 * DAY)],
        "failed_mail": [world.mail(MailStatus.FAILED, age=91 * DAY)],
    }
    kept = {
        "tokens": [*in_use, just_revoked],
        "authorization_codes": [in_use_code, world.code(expires=timedelta(seconds=30))],
        "browser_sessions": [live_session, recently_ended],
        "support_sessions": [
            world.support_session(started=HOUR),
            world.support_session(started=3 * HOUR, ended=2 * HOUR),
        ],
        "registrations": [
            world.registration(expires=12 * HOUR),
            world.registration(expires=-DAY),  # expired yesterday: still says « expiré »
        ],
        "email_changes": [world.email_change(expires=HOUR)],
        "invitations": [
            world.invitation(expires=-10 * DAY),  # expired, may still be sent again
            world.invitation(expires=-200 * DAY, status=InvitationStatus.ACCEPTED),
        ],
        "throttles": [
            world.throttle("user:recent", started=5 * timedelta(minutes=1)),
            world.throttle("ip:locked", started=2 * DAY, locked=HOUR),
        ],
        "reminder_markers": [world.reminder(expired=-20 * DAY), world.reminder(expired=DAY)],
        "logout_deliveries": [
            world.logout_delivery(),
            world.logout_delivery(delivered=DAY),
        ],
        "sent_mail": [
            world.mail(MailStatus.SENT, age=DAY),
            world.mail(MailStatus.PENDING, age=200 * DAY),
        ],
        "failed_mail": [world.mail(MailStatus.FAILED, age=31 * DAY)],
    }
    world.session.commit()
    assert set(gone) == set(kept) == {kind.name for kind in KINDS}
    assert now == world.now
    return {"gone": gone, "kept": kept}


def present(session: Session, rows: list) -> list:
    """Those of `rows` still in the database."""
    keys = [(type(row), inspect(row).identity) for row in rows]
    session.rollback()  # a new transaction: SQLite's would still see its first snapshot
    return [
        row
        for row, (model, key) in zip(rows, keys, strict=True)
        if session.get(model, key, populate_existing=True) is not None
    ]


@pytest.fixture
def world(session, now):
    return World(session, now)


def test_rows_past_their_life_go_and_those_still_of_use_stay(world, session, session_factory, now):
    rows = populate(world)
    history = [
        world.audit("session.sign_in", age=400 * DAY),
        world.audit("account.create", age=3 * 365 * DAY),
    ]
    session.commit()

    report = purge(session_factory, now=now)

    assert report.counts == {kind: len(gone) for kind, gone in rows["gone"].items()}
    for kind, gone in rows["gone"].items():
        assert present(session, gone) == [], kind
    for kind, kept in rows["kept"].items():
        assert present(session, kept) == kept, kind
    # The audit log is history: nothing of it goes, and the purge adds its own event.
    assert present(session, history) == history
    (event,) = session.scalars(select(AuditEvent).filter_by(action="maintenance.purge"))
    assert event.after == report.counts
    assert event.actor == "maintenance:purge"


def test_a_refresh_token_family_in_use_stays_whole_for_replay_detection(
    world, session, session_factory, now
):
    """The used token of a live family is what a stolen copy would present: it must still be
    recognised, so it stays as long as its family is alive, however old it is."""
    live_session = world.browser_session()
    old = world.token("family", access=-9 * HOUR, refresh=8 * HOUR, used=True,
                      browser_session=live_session)  # fmt: skip
    latest = world.token("family", access=HOUR, refresh=8 * HOUR, browser_session=live_session)
    session.commit()

    purge(session_factory, now=now + DAY)  # its refresh token expired 16 h ago: within the grace
    assert present(session, [old, latest]) == [old, latest]

    report = purge(session_factory, now=now + 2 * DAY)  # 40 h ago: past the grace day
    assert present(session, [old, latest]) == []
    assert report.counts["tokens"] == 2


def test_dry_run_deletes_nothing_and_counts_what_a_purge_would(
    world, session, session_factory, now
):
    rows = populate(world)
    tables = {kind.name: kind.key.class_ for kind in KINDS}

    def sizes() -> dict[str, int]:
        with session_factory() as fresh:
            return {
                name: fresh.scalar(select(func.count()).select_from(table))
                for name, table in tables.items()
            }

    before = sizes()
    dry = purge(session_factory, now=now, dry_run=True)

    assert sizes() == before
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
    assert dry.dry_run
    real = purge(session_factory, now=now)
    assert dry.counts == real.counts == {kind: len(gone) for kind, gone in rows["gone"].items()}


def test_a_batch_smaller_than_the_rows_still_purges_them_all(world, session, session_factory, now):
    throttles = [world.throttle(f"user:personne{n}", started=3 * DAY) for n in range(7)]
    families = [
        world.token(f"family-{n}", access=-3 * DAY, refresh=-2 * DAY, used=used)
        for n in range(3)
        for used in (True, False)
    ]
    kept = world.throttle("user:en-cours", started=timedelta(minutes=1))
    session.commit()

    report = purge(session_factory, now=now, batch=2)

    assert report.counts["throttles"] == 7
    assert report.counts["tokens"] == 6
    assert present(session, [*throttles, *families]) == []
    assert present(session, [kept]) == [kept]


def test_nothing_to_purge_writes_no_audit_event(world, session, session_factory, now):
    world.browser_session()
    session.commit()

    report = purge(session_factory, now=now)

    assert report.total == 0
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == 0
