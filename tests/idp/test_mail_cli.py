"""`hub mail send|list|retry`, as an operator sees them in a terminal, with a real SMTP server."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from hub.accounts.mails import account_renewed
from hub.audit.models import AuditEvent
from hub.config import Smtp
from hub.mail.models import MailStatus, OutboxMessage
from idp import create_app
from idp.cli import cli
from idp.extensions import db
from tests.factories import make_account, make_portal, make_structure, make_user
from tests.fixtures.ports import closed_port
from tests.fixtures.smtp import smtp_server as smtp_server  # the fixture, used by name


@pytest.fixture
def hub_with(settings, session_factory, now, time_machine):
    """`hub_with(smtp)("mail", "send")` runs `hub mail send` at the tests' `now` against the
    SMTP server `smtp` describes, and returns Click's result."""
    time_machine.move_to(now, tick=False)
    apps = []

    def make(smtp: Smtp):
        app = create_app(replace(settings, smtp=smtp), TESTING=True)
        apps.append(app)
        runner = app.test_cli_runner()
        return lambda *args: runner.invoke(cli, list(args))

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def hub(hub_with, smtp_server):
    return hub_with(smtp_server.smtp())


@pytest.fixture
def down(hub_with):
    """`hub` configured with an SMTP server that is down."""
    return hub_with(Smtp(host="127.0.0.1", port=closed_port(), timeout=5.0))


@pytest.fixture
def renewal_mail(session, now):
    """Queues « Votre compte … a été renouvelé » for a new person; returns the message."""
    soltea = make_portal(session, "soltea")
    structure = make_structure(session, portals=(soltea,), name="Organisme Alpha Formation")

    def queue_for(first_name: str) -> OutboxMessage:
        user = make_user(session, first_name=first_name, last_name="Martin")
        account = make_account(session, now=now, structure=structure, portal=soltea, user=user)
        message = account_renewed(session, account, now=now)
        session.commit()
        return message

    return queue_for


def reload(session, message: OutboxMessage) -> OutboxMessage:
    session.rollback()
    return session.get_one(OutboxMessage, message.id, populate_existing=True)


def lines_of(output: str) -> list[str]:
    return output.strip("\n").split("\n")


def cells(row: str) -> list[str]:
    return re.split(r"\s{2,}", row.strip())


# --- hub mail send -----------------------------------------------------------------------------


def test_send_delivers_due_mail_and_prints_the_counts(hub, renewal_mail, smtp_server):
    renewal_mail("alice")
    renewal_mail("bruno")

    result = hub("mail", "send")

    assert result.exit_code == 0, result.output
    assert result.stdout == "2 message(s) envoyé(s), 0 reporté(s), 0 en échec.\n"
    assert sorted(mail["To"] for mail in smtp_server.wait_for(2)) == [
        "alice.martin@example.org",
        "bruno.martin@example.org",
    ]
    assert hub("mail", "send").stdout == "0 message(s) envoyé(s), 0 reporté(s), 0 en échec.\n"


def test_send_with_the_server_down_postpones_and_says_why(down, renewal_mail, session):
    message = renewal_mail("alice")

    result = down("mail", "send")

    assert result.exit_code == 0
    assert result.stdout == "0 message(s) envoyé(s), 1 reporté(s), 0 en échec.\n"
    assert result.stderr.startswith(
        "Envoi interrompu, serveur SMTP indisponible : ConnectionRefusedError"
    )
    row = reload(session, message)
    assert (row.status, row.attempts) == (MailStatus.PENDING, 1)


def test_send_all_does_not_wait_for_the_back_off(down, hub, renewal_mail, session, smtp_server):
    message = renewal_mail("alice")
    down("mail", "send")

    waiting = hub("mail", "send")
    forced = hub("mail", "send", "--all")

    assert waiting.stdout == "0 message(s) envoyé(s), 0 reporté(s), 0 en échec.\n"
    assert forced.stdout == "1 message(s) envoyé(s), 0 reporté(s), 0 en échec.\n"
    assert smtp_server.wait_for(1)[0]["X-Hub-Message-Id"] == str(message.id)
    assert reload(session, message).status is MailStatus.SENT


# --- hub mail list -----------------------------------------------------------------------------


def test_list_shows_the_latest_messages_first_with_why_they_failed(hub, renewal_mail, smtp_server):
    smtp_server.handler.refusals["bruno.martin@example.org"] = "550 5.1.1 Boîte inconnue"
    alice, bruno = renewal_mail("alice"), renewal_mail("bruno")
    hub("mail", "send")
    chloe = renewal_mail("chloe")

    result = hub("mail", "list")

    assert result.exit_code == 0, result.output
    header, rule, *rows = lines_of(result.stdout)
    assert cells(header) == [
        "id", "créé le", "destinataire", "objet", "statut", "tentatives", "dernière erreur",
    ]  # fmt: skip
    assert set(rule) == {"-", " "}
    subject = "Votre compte SOLTÉA a été renouvelé jusqu'au 23/05/2028"
    assert [cells(row) for row in rows] == [
        [str(chloe.id), "23/11/2026 11:00", "chloe.martin@example.org", subject, "en attente",
         "0", "—"],
        [str(bruno.id), "23/11/2026 11:00", "bruno.martin@example.org", subject, "en échec",
         "1", "bruno.martin@example.org : 550 5.1.1 Boîte inconnue"],
        [str(alice.id), "23/11/2026 11:00", "alice.martin@example.org", subject, "envoyé",
         "1", "—"],
    ]  # fmt: skip


def test_list_filters_by_status_and_count(hub, renewal_mail):
    for name in ("alice", "bruno", "chloe"):
        renewal_mail(name)

    pending = hub("mail", "list", "--status", "pending", "-n", "2")
    failed = hub("mail", "list", "--status", "failed")

    assert [cells(row)[2] for row in lines_of(pending.stdout)[2:]] == [
        "chloe.martin@example.org",
        "bruno.martin@example.org",
    ]
    assert failed.stdout == "Aucun courriel en échec.\n"


# --- hub mail retry ----------------------------------------------------------------------------


def test_retry_gives_a_failed_message_new_attempts(hub, renewal_mail, session, smtp_server):
    smtp_server.handler.refusals["alice.martin@example.org"] = "550 5.1.1 Boîte inconnue"
    message = renewal_mail("alice")
    hub("mail", "send")
    del smtp_server.handler.refusals["alice.martin@example.org"]  # the mailbox now exists

    result = hub("mail", "retry", str(message.id))

    assert result.exit_code == 0, result.output
    assert result.stdout == f"Courriel {message.id} à alice.martin@example.org remis en attente.\n"
    row = reload(session, message)
    assert (row.status, row.attempts) == (MailStatus.PENDING, 0)
    assert hub("mail", "send").stdout == "1 message(s) envoyé(s), 0 reporté(s), 0 en échec.\n"
    assert smtp_server.wait_for(1)[0]["To"] == "alice.martin@example.org"
    event = session.scalar(select(AuditEvent).filter_by(action="mail.retry"))
    assert (event.actor, event.target_id, event.before["status"], event.after["status"]) == (
        "cli:mail-retry",
        str(message.id),
        "failed",
        "pending",
    )


def test_retry_of_an_unknown_message_exits_2(hub, session):
    result = hub("mail", "retry", "999")

    assert result.exit_code == 2
    assert result.stderr == "Erreur : Courriel inconnu : 999.\n"


def test_retry_of_a_message_that_left_is_refused(hub, renewal_mail, session):
    message = renewal_mail("alice")
    hub("mail", "send")

    result = hub("mail", "retry", str(message.id))

    assert result.exit_code == 1
    assert result.stderr == (
        f"Erreur : Le courriel {message.id} n'est pas en échec (statut : envoyé).\n"
    )
    assert reload(session, message).status is MailStatus.SENT
