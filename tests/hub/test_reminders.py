"""Expiry reminders (R3) on the demo data and a few more accounts, travelling in time, on SQLite
and PostgreSQL: what account holders and administrators find in their mail, and that each
account and threshold is mailed once however often reminders run."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.accounts import services
from hub.accounts.models import Account, Role
from hub.actors import System
from hub.audit.models import AuditEvent
from hub.clock import add_months, utcnow
from hub.config import Reminders, Settings
from hub.mail.models import OutboxMessage
from hub.mail.sender import DeliveryReport, SmtpSender, deliver_pending
from hub.portals.models import Portal
from hub.reminders.job import reminder_job
from hub.reminders.models import ReminderSent
from hub.reminders.reports import ReminderReport
from hub.reminders.services import send_due
from hub.structures.models import Structure
from hub.transactions import retrying
from hub.users.models import User
from tests.conftest import NOW
from tests.factories import make_account, make_user
from tests.fixtures.smtp import smtp_server as smtp_server  # the fixture, used by name

DAY = timedelta(days=1)
SOLTEA_ADMIN = "http://127.0.0.1:5001/administration/comptes"
CERTIFICATEURS_ADMIN = "http://127.0.0.1:5002/administration/comptes"


@dataclass
class Alpha:
    """« Organisme Alpha Formation » of the demo, on both portals."""

    structure: Structure
    soltea: Portal
    certificateurs: Portal


@pytest.fixture
def travel(time_machine):
    """`travel(moment)` moves the clock there (and stops it); returns the new `utcnow()`."""

    def to(moment: datetime) -> datetime:
        time_machine.move_to(moment, tick=False)
        return utcnow()

    to(NOW)
    return to


@pytest.fixture
def alpha(travel, demo, session) -> Alpha:
    """The demo loaded on Monday 23 November 2026: Alice admin on SOLTÉA (so on Certificateurs,
    R9) for 12 more months, Bruno expired on Certificateurs, nothing expiring within 30 days."""
    structure = session.scalar(select(Structure).filter_by(matricule="100001"))
    portals = {p.code: p for p in session.scalars(select(Portal))}
    return Alpha(structure, portals["soltea"], portals["certificateurs"])


@pytest.fixture
def holder(session, alpha):
    """`holder(portal, "Denise", "Leroy", 30 * DAY)`: a new person with an account of Alpha on
    `portal` expiring that long after NOW, committed."""

    def make(portal: Portal, first_name: str, last_name: str, expires_in: timedelta, **options):
        user = make_user(session, first_name=first_name, last_name=last_name)
        user.email = f"{first_name.lower()}.{last_name.lower()}@alpha.example"
        account = make_account(
            session,
            now=NOW,
            structure=alpha.structure,
            portal=portal,
            user=user,
            expires_in=expires_in,
            **options,
        )
        session.commit()
        return account

    return make


def run(session: Session, **options) -> ReminderReport:
    """One reminder run at the current (travelled) time, committed."""
    report = send_due(session, now=utcnow(), **options)
    session.commit()
    return report


def mails(session: Session, recipient: str | None = None) -> list[OutboxMessage]:
    session.commit()  # a fresh read: runs in other sessions may have committed since
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if recipient is not None:
        query = query.where(OutboxMessage.recipient == recipient)
    return list(session.scalars(query))


def reminded(session: Session, account: Account) -> list[tuple[int, datetime]]:
    session.commit()
    rows = session.execute(
        select(ReminderSent.threshold_days, ReminderSent.expires_at)
        .where(ReminderSent.account_id == account.id)
        .order_by(ReminderSent.id)
    )
    return [tuple(row) for row in rows]


def runs_audited(session: Session) -> list[AuditEvent]:
    session.commit()
    return list(session.scalars(select(AuditEvent).filter_by(action="reminders.sent")))


# --- what the mails say -----------------------------------------------------------------------


def test_r3_j30_reminder_says_which_portal_structure_date_and_whom_to_ask(session, alpha, holder):
    holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)

    run(session)

    (mail,) = mails(session, "denise.leroy@alpha.example")
    assert mail.subject == "Votre compte Certificateurs expire le 23/12/2026"
    assert mail.template == "expiry_reminder"
    text = mail.text_body
    assert text.startswith("Bonjour Mme Leroy,\n")
    assert (
        "Votre compte Certificateurs pour la structure Organisme Alpha Formation "
        "(matricule 100001) arrive à expiration le 23/12/2026, dans 30 jours." in text
    )
    assert "Identifiant : denise.leroy" in text
    assert "vous ne pourrez plus vous connecter à Certificateurs pour cette structure" in text
    # R9: on Certificateurs, Alpha's administrator is Alice, by delegation from SOLTÉA.
    assert (
        "adressez-vous à l'administrateur de votre structure sur Certificateurs, qui peut le "
        "renouveler en quelques clics :\n- Alice Martin\n" in text
    )
    assert "<li>Alice Martin</li>" in mail.html_body


def test_r9_digest_reaches_every_admin_delegated_ones_included_with_their_link(
    session, alpha, holder
):
    holder(alpha.certificateurs, "Gaston", "Blanc", 18 * 30 * DAY, role=Role.ADMIN)
    holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)

    report = run(session)

    assert [d.recipient for d in report.digests] == [
        "gaston.blanc@alpha.example",
        "alice.martin@alpha.example",
    ]
    (direct,) = mails(session, "gaston.blanc@alpha.example")
    (delegated,) = mails(session, "alice.martin@alpha.example")
    assert (
        direct.subject
        == delegated.subject
        == ("Comptes à renouveler : 1 compte arrive à expiration")
    )
    assert delegated.text_body.startswith("Bonjour Mme Martin,\n")
    assert "Un compte que vous administrez arrive à expiration." in delegated.text_body
    assert (
        "Organisme Alpha Formation (matricule 100001), portail Certificateurs, que vous "
        "administrez via SOLTÉA :\n"
        "- Denise Leroy (denise.leroy), utilisateur : expire le 23/12/2026, dans 30 jours\n"
        f"Gérer les comptes existants : {SOLTEA_ADMIN}?portail=certificateurs&structure=100001\n"
        in delegated.text_body
    )
    # A direct administrator manages on the portal itself; the delegated one from SOLTÉA.
    assert (
        f"Gérer les comptes existants : {CERTIFICATEURS_ADMIN}?portail=certificateurs"
        "&structure=100001\n" in direct.text_body
    )
    assert "via SOLTÉA" not in direct.text_body
    assert (
        f'<a href="{SOLTEA_ADMIN}?portail=certificateurs&amp;structure=100001"'
        in delegated.html_body
    )
    (reminder,) = mails(session, "denise.leroy@alpha.example")
    assert "administrateurs de votre structure sur Certificateurs" in reminder.text_body
    assert "- Gaston Blanc\n- Alice Martin\n" in reminder.text_body


def test_one_digest_per_admin_and_run_however_many_accounts_and_portals(session, alpha, holder):
    holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)
    holder(alpha.soltea, "Émile", "Roy", 5 * DAY)
    holder(alpha.soltea, "Fanny", "Noël", 29 * DAY)

    report = run(session)

    assert len(report.reminders) == 3
    (digest,) = mails(session, "alice.martin@alpha.example")
    assert digest.subject == "Comptes à renouveler : 3 comptes arrivent à expiration"
    text = digest.text_body
    assert "3 comptes que vous administrez arrivent à expiration." in text
    assert text.index("portail Certificateurs") < text.index("portail SOLTÉA :")
    assert "- Émile Roy (émile.roy), utilisateur : expire le 28/11/2026, dans 5 jours\n" in text
    assert "- Fanny Noël (fanny.noël), utilisateur : expire le 22/12/2026, dans 29 jours\n" in (
        text
    )
    assert f"{SOLTEA_ADMIN}?portail=soltea&structure=100001" in text
    assert f"{SOLTEA_ADMIN}?portail=certificateurs&structure=100001" in text


def test_r2_an_admin_is_told_to_renew_their_own_account_and_that_r9_rights_lapse_with_it(
    session, alpha, travel
):
    # Alice's SOLTÉA account (12 months from the demo's loading) expires on 23/11/2027.
    travel(datetime(2027, 10, 24, 8, 0, tzinfo=UTC))

    report = run(session)

    assert [(r.username, r.threshold, r.days_left) for r in report.reminders] == [
        ("alice.martin", 30, 30)
    ]
    assert report.digests == ()  # her own account is in her reminder, not in a digest
    (mail,) = mails(session)
    assert mail.subject == "Votre compte SOLTÉA expire le 23/11/2027"
    text = mail.text_body
    assert "vous pouvez le renouveler vous-même avant cette date" in text
    assert f"{SOLTEA_ADMIN}?portail=soltea&structure=100001" in text
    assert (
        "En revanche, votre rôle d'administrateur de cette structure sur Certificateurs, qui "
        "découle de ce compte, prendra fin à la même date." in text
    )


def test_r11_without_any_admin_the_holder_is_sent_to_the_support(session, alpha, holder, travel):
    denise = holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)
    services.renew(session, denise, by=System("test"), now=NOW, notify=False)
    session.commit()
    # 30 days before Denise's new expiry, Alice's SOLTÉA account has long expired.
    travel(denise.expires_at - 30 * DAY)

    report = run(session)

    assert report.digests == ()
    (mail,) = mails(session, "denise.leroy@alpha.example")
    assert "Votre structure n'a plus d'administrateur en activité sur Certificateurs." in (
        mail.text_body
    )
    assert "demande de changement d'administrateur" in mail.text_body


# --- once per account, threshold and expiry ---------------------------------------------------


def test_r3_j30_and_j7_are_each_mailed_once_however_often_reminders_run(
    session, alpha, holder, travel
):
    denise = holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)

    first = run(session)
    again = run(session)
    travel(NOW + timedelta(hours=5))
    later_that_day = run(session)

    assert [(r.username, r.threshold) for r in first.reminders] == [("denise.leroy", 30)]
    assert again.reminders == later_that_day.reminders == ()
    assert again.digests == later_that_day.digests == ()

    daily = {}
    for day in range(1, 32):
        travel(NOW + day * DAY)
        daily[day] = [(r.username, r.threshold, r.days_left) for r in run(session).reminders]
        run(session)  # a second pass the same day (another instance, a cron) sends nothing

    assert {day: sent for day, sent in daily.items() if sent} == {23: [("denise.leroy", 7, 7)]}
    assert [m.subject for m in mails(session, "denise.leroy@alpha.example")] == [
        "Votre compte Certificateurs expire le 23/12/2026",
        "Votre compte Certificateurs expire le 23/12/2026",
    ]
    assert "dans 7 jours" in mails(session, "denise.leroy@alpha.example")[1].text_body
    assert len(mails(session, "alice.martin@alpha.example")) == 2
    assert reminded(session, denise) == [(30, denise.expires_at), (7, denise.expires_at)]


def test_missed_days_send_only_the_nearest_threshold_once(session, alpha, holder, travel):
    emile = holder(alpha.soltea, "Émile", "Roy", 5 * DAY)
    fanny = holder(alpha.soltea, "Fanny", "Noël", 20 * DAY)

    report = run(session)
    travel(NOW + DAY)
    next_day = run(session)

    assert [(r.username, r.threshold, r.days_left) for r in report.reminders] == [
        ("émile.roy", 7, 5),
        ("fanny.noël", 30, 20),
    ]
    assert next_day.reminders == ()
    assert reminded(session, emile) == [(7, emile.expires_at)]
    assert reminded(session, fanny) == [(30, fanny.expires_at)]
    (late,) = mails(session, "fanny.noël@alpha.example")
    assert "le 13/12/2026, dans 20 jours." in late.text_body


def test_r4_a_renewed_account_is_reminded_again_for_its_new_expiry(session, alpha, holder, travel):
    denise = holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)
    run(session)
    travel(NOW + 25 * DAY)  # 5 days left: the J-7 reminder is due…
    services.renew(session, denise, by=System("test"), now=utcnow(), notify=False)
    session.commit()
    first_expiry = NOW + 30 * DAY

    after_renewal = run(session)  # …but no longer once renewed
    travel(denise.expires_at - 30 * DAY)
    new_j30 = run(session)
    travel(denise.expires_at - 7 * DAY)
    new_j7 = run(session)

    assert denise.expires_at == add_months(first_expiry, 18)
    assert after_renewal.reminders == ()
    assert [(r.threshold, r.expires_at) for r in new_j30.reminders] == [(30, denise.expires_at)]
    assert [(r.threshold, r.expires_at) for r in new_j7.reminders] == [(7, denise.expires_at)]
    assert reminded(session, denise) == [
        (30, first_expiry),
        (30, denise.expires_at),
        (7, denise.expires_at),
    ]
    assert [m.subject for m in mails(session, "denise.leroy@alpha.example")] == [
        "Votre compte Certificateurs expire le 23/12/2026",
        "Votre compte Certificateurs expire le 23/06/2028",
        "Votre compte Certificateurs expire le 23/06/2028",
    ]


def test_r3_expired_accounts_get_nothing(session, alpha, holder, travel):
    # The demo's Bruno expired on Certificateurs 10 days ago; Hugo expires right now.
    hugo = holder(alpha.soltea, "Hugo", "Petit", timedelta(0))

    report = run(session)
    # Inès is never reminded: reminders did not run during her last two days.
    ines = holder(alpha.soltea, "Inès", "Petit", 2 * DAY)
    travel(NOW + 3 * DAY)
    too_late = run(session)

    assert report == too_late == ReminderReport()
    assert reminded(session, hugo) == reminded(session, ines) == []
    assert mails(session) == []
    assert runs_audited(session) == []


def test_r3_days_are_counted_on_the_paris_calendar(session, alpha, holder, travel):
    # 23/12/2026 at 23:30 UTC is 24/12 at 00:30 in Paris: 31 days from Monday 23/11.
    holder(alpha.soltea, "Jules", "Faure", datetime(2026, 12, 23, 23, 30, tzinfo=UTC) - NOW)

    too_early = run(session)
    travel(datetime(2026, 11, 23, 23, 5, tzinfo=UTC))  # 00:05 on 24/11 in Paris
    on_time = run(session)

    assert too_early.reminders == ()
    assert [(r.threshold, r.days_left) for r in on_time.reminders] == [(30, 30)]
    (mail,) = mails(session, "jules.faure@alpha.example")
    assert mail.subject == "Votre compte SOLTÉA expire le 24/12/2026"


def test_thresholds_come_from_the_configuration(session, alpha, holder):
    holder(alpha.soltea, "Denise", "Leroy", 15 * DAY)
    settings = Settings.from_env({"HUB_REMINDER_DAYS": "7, 60,15"}, secret_key="x")

    report = run(session, days=settings.reminders.days)

    assert settings.reminders.days == (60, 15, 7)
    assert Settings.from_env({}, secret_key="x").reminders == Reminders(days=(30, 7), hour=8)
    assert [(r.threshold, r.days_left) for r in report.reminders] == [(15, 15)]
    with pytest.raises(ValueError, match="HUB_REMINDER_DAYS"):
        Settings.from_env({"HUB_REMINDER_DAYS": "30,0"}, secret_key="x")


# --- a run: one transaction, audited, or nothing at all ---------------------------------------


def test_a_run_is_audited_once_with_its_counts(session, alpha, holder):
    holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)
    holder(alpha.soltea, "Émile", "Roy", 5 * DAY)

    run(session)
    run(session)

    (event,) = runs_audited(session)
    assert event.actor == "reminders"
    assert event.occurred_at == NOW
    assert event.after == {"reminders": 2, "digests": 1, "by_threshold": {"30": 1, "7": 1}}


def test_dry_run_reports_what_would_be_sent_and_writes_nothing(session, alpha, holder):
    denise = holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)

    rehearsal = run(session, dry_run=True)

    assert rehearsal.dry_run
    assert [(r.username, r.threshold) for r in rehearsal.reminders] == [("denise.leroy", 30)]
    assert [d.recipient for d in rehearsal.digests] == ["alice.martin@alpha.example"]
    assert mails(session) == []
    assert reminded(session, denise) == []
    assert runs_audited(session) == []
    real = run(session)
    assert (real.reminders, real.digests) == (rehearsal.reminders, rehearsal.digests)
    assert len(mails(session)) == 2


def test_a_failed_run_sends_nothing_and_the_next_one_does_it_all(session, alpha, holder):
    holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)

    send_due(session, now=utcnow())
    session.rollback()  # e.g. the database went away before the commit

    assert mails(session) == []
    assert len(run(session).reminders) == 1
    assert len(mails(session)) == 2


def test_two_runs_at_once_mail_each_reminder_once(session, session_factory, alpha, holder):
    holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)
    holder(alpha.soltea, "Émile", "Roy", 5 * DAY)
    reports = []

    first = send_due(session, now=utcnow())  # claimed, not committed yet
    other = threading.Thread(
        target=lambda: reports.append(
            retrying(session_factory, lambda s: send_due(s, now=NOW), attempts=5)
        )
    )
    other.start()
    other.join(timeout=0.5)
    still_waiting = other.is_alive()
    session.commit()
    other.join(timeout=30)

    assert still_waiting  # the other run waited for this one's claims
    assert len(first.reminders) == 2
    assert reports == [ReminderReport()]
    assert len(mails(session)) == 3


# --- delivery and the daily scheduler ---------------------------------------------------------


def test_reminders_reach_the_mail_server_in_french(
    session, session_factory, alpha, holder, smtp_server
):
    holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)
    run(session)

    report = deliver_pending(session_factory, SmtpSender(smtp_server.smtp()), now=NOW)

    assert report == DeliveryReport(sent=2)
    received = {mail["To"]: mail for mail in smtp_server.wait_for(2)}
    reminder = received["denise.leroy@alpha.example"]
    assert reminder["Subject"] == "Votre compte Certificateurs expire le 23/12/2026"
    text = reminder.get_body(("plain",)).get_content()
    assert text.startswith("Bonjour Mme Leroy,\n")
    assert "arrive à expiration le 23/12/2026, dans 30 jours." in text
    assert "- Alice Martin\n" in text
    digest = received["alice.martin@alpha.example"]
    assert digest["Subject"] == "Comptes à renouveler : 1 compte arrive à expiration"
    link = f"{SOLTEA_ADMIN}?portail=certificateurs&structure=100001"
    assert f"Gérer les comptes existants : {link}\n" in digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    assert f'<a href="{link.replace("&", "&amp;")}"' in html
    assert "Denise Leroy (denise.leroy), utilisateur" in html


def test_the_daily_job_sends_once_a_day_from_the_configured_paris_hour(
    session, session_factory, alpha, holder, travel
):
    holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)
    job = reminder_job(session_factory, Reminders(hour=8))

    job.run(travel(datetime(2026, 11, 23, 6, 59, tzinfo=UTC)))  # 07:59 in Paris
    before_hour = len(mails(session))
    job.run(travel(datetime(2026, 11, 23, 7, 0, tzinfo=UTC)))  # 08:00 in Paris
    at_hour = len(mails(session))
    for hour in range(8, 23):
        job.run(travel(datetime(2026, 11, 23, hour, 0, tzinfo=UTC)))

    assert (before_hour, at_hour) == (0, 2)
    assert len(mails(session)) == 2
    assert len(runs_audited(session)) == 1
    assert job.every == timedelta(hours=1)


def test_deleting_an_account_forgets_its_reminders(session, alpha, holder):
    denise = holder(alpha.certificateurs, "Denise", "Leroy", 30 * DAY)
    run(session)

    session.delete(denise)
    session.commit()

    assert session.scalar(select(func.count()).select_from(ReminderSent)) == 0
    assert session.scalar(select(User).filter_by(username="denise.leroy")) is not None
