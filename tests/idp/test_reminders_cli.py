"""`hub reminders send [--dry-run]` as an operator sees it, the mails it queues reaching a real
SMTP server, and `hub run` sending the reminders of the day by itself."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.clock import utcnow
from hub.mail.models import OutboxMessage
from hub.reminders.models import ReminderSent
from hub.structures.models import Structure
from idp import create_app
from idp.cli import cli
from idp.extensions import db
from tests.factories import make_account, make_portal, make_structure, make_user
from tests.fixtures.hub_run import light_hashing_env, start_hub_run
from tests.fixtures.smtp import smtp_server as smtp_server  # the fixture, used by name

DAY = timedelta(days=1)
HEADER = [
    "destinataire", "courriel", "portail", "structure", "compte(s)", "expire le",
    "jours restants",
]  # fmt: skip


@pytest.fixture
def hub_with(settings, session_factory, now, time_machine):
    """`hub_with(smtp)("reminders", "send")` runs `hub reminders send` at the tests' `now`, mail
    going to the SMTP server `smtp` describes, and returns Click's result."""
    time_machine.move_to(now, tick=False)
    apps = []

    def make(smtp=None):
        app = create_app(settings if smtp is None else replace(settings, smtp=smtp), TESTING=True)
        apps.append(app)
        runner = app.test_cli_runner()
        return lambda *args: runner.invoke(cli, list(args))

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def hub(hub_with):
    return hub_with()


@pytest.fixture
def alpha(hub, demo, session, now):
    """The demo at the tests' `now`, with Denise's Certificateurs account 30 days from expiry
    and Émile's SOLTÉA account 5 days from it."""
    structure = session.scalar(select(Structure).filter_by(matricule="100001"))
    for code, first_name, last_name, expires_in in [
        ("certificateurs", "Denise", "Leroy", 30 * DAY),
        ("soltea", "Émile", "Roy", 5 * DAY),
    ]:
        user = make_user(session, first_name=first_name, last_name=last_name)
        user.email = f"{user.username}@alpha.example"
        portal = make_portal(session, code)
        make_account(
            session, now=now, structure=structure, portal=portal, user=user, expires_in=expires_in
        )
    session.commit()
    return structure


def lines_of(output: str) -> list[str]:
    return output.strip("\n").split("\n")


def cells(row: str) -> list[str]:
    return re.split(r"\s{2,}", row.strip())


def queued(session) -> list[OutboxMessage]:
    session.commit()
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


EXPECTED_ROWS = [
    ["denise.leroy@alpha.example", "rappel J-30", "Certificateurs",
     "Organisme Alpha Formation (100001)", "denise.leroy", "23/12/2026", "30"],
    ["émile.roy@alpha.example", "rappel J-7", "SOLTÉA", "Organisme Alpha Formation (100001)",
     "émile.roy", "28/11/2026", "5"],
    ["alice.martin@alpha.example", "récapitulatif administrateur",
     "Certificateurs (via SOLTÉA)", "Organisme Alpha Formation (100001)", "denise.leroy", "—",
     "—"],
    ["alice.martin@alpha.example", "récapitulatif administrateur", "SOLTÉA",
     "Organisme Alpha Formation (100001)", "émile.roy", "—", "—"],
]  # fmt: skip


def test_send_prints_what_it_queued_as_a_french_table_and_sends_once(hub, alpha, session):
    result = hub("reminders", "send")

    assert result.exit_code == 0, result.output
    header, rule, *rows, total = lines_of(result.stdout)
    assert cells(header) == HEADER
    assert set(rule) == {"-", " "}
    assert [cells(row) for row in rows] == EXPECTED_ROWS
    assert total == "2 rappel(s) et 1 récapitulatif(s) placé(s) dans la file d'envoi des courriels."
    assert [m.recipient for m in queued(session)] == [
        "denise.leroy@alpha.example",
        "émile.roy@alpha.example",
        "alice.martin@alpha.example",
    ]
    again = hub("reminders", "send")
    assert again.exit_code == 0
    assert again.stdout == "Aucun rappel d'expiration à envoyer.\n"
    assert len(queued(session)) == 3


def test_dry_run_shows_the_same_table_and_sends_nothing(hub, alpha, session):
    rehearsal = hub("reminders", "send", "--dry-run")

    assert rehearsal.exit_code == 0, rehearsal.output
    _header, _rule, *rows, total = lines_of(rehearsal.stdout)
    assert [cells(row) for row in rows] == EXPECTED_ROWS
    assert total == (
        "Simulation (--dry-run) : 2 rappel(s) et 1 récapitulatif(s) seraient envoyés ; "
        "rien n'a été enregistré."
    )
    assert queued(session) == []
    assert session.scalars(select(ReminderSent)).all() == []
    assert lines_of(hub("reminders", "send").stdout)[2:-1] == lines_of(rehearsal.stdout)[2:-1]


def test_nothing_due_says_so(hub, demo):
    result = hub("reminders", "send", "--dry-run")

    assert result.exit_code == 0
    assert result.stdout == "Aucun rappel d'expiration à envoyer.\n"


def test_reminders_reach_the_mail_server_with_their_link(hub_with, alpha, smtp_server):
    hub = hub_with(smtp_server.smtp())

    hub("reminders", "send")
    sent = hub("mail", "send")

    assert sent.stdout == "3 message(s) envoyé(s), 0 reporté(s), 0 en échec.\n"
    received = {mail["To"]: mail for mail in smtp_server.wait_for(3)}
    reminder = received["denise.leroy@alpha.example"]
    assert reminder["Subject"] == "Votre compte Certificateurs expire le 23/12/2026"
    text = reminder.get_body(("plain",)).get_content()
    assert "Votre compte Certificateurs pour la structure Organisme Alpha Formation" in text
    assert "- Alice Martin\n" in text
    digest = received["alice.martin@alpha.example"]
    assert digest["Subject"] == "Comptes à renouveler : 2 comptes arrivent à expiration"
    assert (
        "Gérer les comptes existants : http://127.0.0.1:5001/administration/comptes"
        "?portail=certificateurs&structure=100001\n" in digest.get_body(("plain",)).get_content()
    )


def test_hub_run_sends_the_reminders_of_the_day(tmp_path, database_url, session_factory):
    """The scheduler's first look is at start-up: a hub started at any hour past
    HUB_REMINDER_HOUR sends that day's reminders."""
    with session_factory() as session:
        soltea = make_portal(session, "soltea")
        structure = make_structure(session, portals=(soltea,), name="Organisme Alpha Formation")
        make_account(session, now=utcnow(), structure=structure, portal=soltea, expires_in=10 * DAY)
        session.commit()
    run = start_hub_run(
        "--no-portals",
        "--workers",
        "1",
        tmp_path=tmp_path,
        env={"HUB_DATABASE_URL": database_url, "HUB_REMINDER_HOUR": "0", **light_hashing_env()},
    )
    try:
        run.wait_until_ready()
        deadline = time.monotonic() + 30
        with session_factory() as session:
            while not (subjects := session.scalars(select(OutboxMessage.subject)).all()):
                assert time.monotonic() < deadline, run.output
                session.rollback()
                time.sleep(0.2)
        assert run.interrupt() == 0, run.output
    finally:
        run.stop()
    assert len(subjects) == 1
    assert subjects[0].startswith("Votre compte SOLTÉA expire le ")
