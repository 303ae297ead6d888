"""The outbox and its sender, against a real SMTP server on 127.0.0.1, on SQLite and PostgreSQL.

What is asserted is what a person or an operator observes: the mail in the server's hands
(subject, parts, accents), and the outbox row (status, attempts, next attempt, last error).
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import jinja2
import pytest
from sqlalchemy import func, select

from hub.accounts.mails import account_created, account_renewed
from hub.clock import utcnow
from hub.config import Smtp
from hub.database import make_engine, make_session_factory
from hub.mail.models import MailStatus, OutboxMessage
from hub.mail.outbox import queue
from hub.mail.sender import DeliveryReport, SmtpSender, deliver_pending
from hub.mail.worker import MailWorker
from hub.transactions import unit_of_work
from tests.factories import make_account, make_portal, make_structure, make_user
from tests.fixtures.ports import closed_port
from tests.fixtures.smtp import (
    password_authenticator,
    running_smtp_server,
    self_signed_certificate,
)
from tests.fixtures.smtp import smtp_server as smtp_server  # the fixture, used by name

MINUTE = timedelta(minutes=1)


@pytest.fixture
def account(session, now):
    soltea = make_portal(session, "soltea")
    structure = make_structure(
        session, portals=(soltea,), matricule="100001", name="Organisme Évry & Fils"
    )
    user = make_user(session, first_name="Éloïse", last_name="Lefèvre")
    user.email = "eloise.lefevre@example.org"
    return make_account(session, now=now, structure=structure, portal=soltea, user=user)


def deliver(session_factory, smtp, now, **options) -> DeliveryReport:
    return deliver_pending(session_factory, SmtpSender(smtp), now=now, **options)


def reload(session, message: OutboxMessage) -> OutboxMessage:
    """The row as committed by the sender (ends the test's own read transaction first)."""
    session.rollback()
    return session.get_one(OutboxMessage, message.id, populate_existing=True)


def smtp_down(**overrides) -> Smtp:
    """Settings of an SMTP server that is down: nothing listens on its port."""
    return Smtp(host="127.0.0.1", port=closed_port(), timeout=5.0, **overrides)


def queue_simple(session, now, recipient="jeanne.durand@example.org") -> OutboxMessage:
    message = queue(
        session,
        recipient=recipient,
        template="account_renewed",
        context={
            "civility": "Mme",
            "first_name": "Jeanne",
            "last_name": "Durand",
            "username": "jeanne.durand",
            "portal": "SOLTÉA",
            "portal_url": "http://127.0.0.1:5001",
            "structure": "Organisme Alpha",
            "matricule": "100001",
            "expires_at": now + timedelta(days=548),
        },
        now=now,
    )
    session.flush()
    return message


# --- rendering and delivery --------------------------------------------------------------------


def test_account_created_mail_reaches_the_server_in_french(
    session, session_factory, now, account, smtp_server
):
    message = account_created(session, account, now=now)
    session.commit()

    report = deliver(session_factory, smtp_server.smtp(), now)

    assert report == DeliveryReport(sent=1)
    (mail,) = smtp_server.wait_for(1)
    assert mail["Subject"] == "Votre compte sur SOLTÉA a été créé"
    assert mail["To"] == "eloise.lefevre@example.org"
    assert mail["From"] == "Hub des portails <no-reply@hub.example>"
    assert mail["X-Hub-Message-Id"] == str(message.id)
    assert mail["Message-ID"].endswith("@hub.example>")
    assert mail["Date"].datetime == now
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    assert text.startswith("Bonjour Mme Lefèvre,\n")
    assert "Votre compte sur SOLTÉA a été créé." in text
    assert f"Identifiant : {account.user.username}" in text
    assert "Structure : Organisme Évry & Fils (matricule 100001)" in text
    assert "Valable jusqu'au : 23/05/2028" in text
    assert f"Pour vous connecter : {account.portal.base_url}" in text
    html = mail.get_body(("html",)).get_content()
    assert '<html lang="fr">' in html
    assert "<title>Votre compte sur SOLTÉA a été créé</title>" in html
    assert f'<a href="{account.portal.base_url}"' in html
    assert "Valable jusqu'au : <strong>23/05/2028</strong>" in html
    row = reload(session, message)
    assert (row.status, row.sent_at, row.attempts, row.last_error) == (
        MailStatus.SENT,
        now,
        1,
        None,
    )


def test_accents_travel_encoded_so_any_relay_keeps_them(
    session, session_factory, now, account, smtp_server
):
    account_created(session, account, now=now)
    session.commit()

    deliver(session_factory, smtp_server.smtp(), now)

    (raw,) = smtp_server.handler.raw
    assert raw.isascii()
    assert b"Subject: Votre compte sur =?utf-8?" in raw
    assert b"Content-Transfer-Encoding: quoted-printable" in raw


def test_html_part_escapes_what_people_typed(session, session_factory, now, account, smtp_server):
    account.structure.name = "<b>Évry</b> & Fils"
    account_created(session, account, now=now)
    session.commit()

    deliver(session_factory, smtp_server.smtp(), now)

    (mail,) = smtp_server.wait_for(1)
    assert "&lt;b&gt;Évry&lt;/b&gt; &amp; Fils" in mail.get_body(("html",)).get_content()
    assert "<b>Évry</b> & Fils" in mail.get_body(("plain",)).get_content()


def test_r4_renewal_mail_gives_the_new_expiry_date_in_paris(
    session, session_factory, now, account, smtp_server
):
    # 22/05/2028 at 23:30 UTC is already 23/05 in Paris.
    account.expires_at = now.replace(year=2028, month=5, day=22, hour=23, minute=30)
    account_renewed(session, account, now=now)
    session.commit()

    deliver(session_factory, smtp_server.smtp(), now)

    (mail,) = smtp_server.wait_for(1)
    assert mail["Subject"] == "Votre compte SOLTÉA a été renouvelé jusqu'au 23/05/2028"
    text = mail.get_body(("plain",)).get_content()
    assert "Votre compte SOLTÉA pour la structure Organisme Évry & Fils" in text
    assert "Valable jusqu'au : 23/05/2028" in text


def test_rolled_back_change_sends_no_mail(session, session_factory, now, account, smtp_server):
    session.commit()

    def renew_then_fail() -> None:
        with unit_of_work(session):
            account.expires_at += timedelta(days=548)
            account_renewed(session, account, now=now)
            raise RuntimeError("the renewal fails after the mail was queued")

    with pytest.raises(RuntimeError):
        renew_then_fail()

    report = deliver(session_factory, smtp_server.smtp(), now)

    assert report == DeliveryReport()
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert smtp_server.messages == []


def test_missing_template_variable_fails_when_queued(session, now):
    with pytest.raises(jinja2.UndefinedError):
        queue(session, recipient="a@example.org", template="account_created", context={}, now=now)


def test_non_ascii_address_goes_through_smtputf8(session, session_factory, now, smtp_server):
    queue_simple(session, now, recipient="éloïse.lefèvre@example.org")
    session.commit()

    report = deliver(session_factory, smtp_server.smtp(), now)

    assert report.sent == 1
    assert smtp_server.wait_for(1)[0]["To"] == "éloïse.lefèvre@example.org"


def test_non_ascii_address_fails_on_a_server_without_smtputf8(session, session_factory, now):
    message = queue_simple(session, now, recipient="éloïse.lefèvre@example.org")
    session.commit()

    with running_smtp_server(enable_SMTPUTF8=False) as server:
        report = deliver(session_factory, server.smtp(), now)

        assert report == DeliveryReport(failed=1)
        assert server.messages == []
    assert "SMTPUTF8" in reload(session, message).last_error


# --- server down, back-off, refusals -----------------------------------------------------------


def test_server_down_keeps_the_message_pending_and_backs_off(session, session_factory, now):
    message = queue_simple(session, now)
    session.commit()
    down = smtp_down()

    report = deliver(session_factory, down, now)

    assert (report.sent, report.retried, report.failed) == (0, 1, 0)
    assert "ConnectionRefusedError" in report.unreachable
    row = reload(session, message)
    assert row.status is MailStatus.PENDING
    assert row.attempts == 1
    assert now + timedelta(seconds=30) <= row.next_attempt_at <= now + timedelta(seconds=33)
    assert "ConnectionRefusedError" in row.last_error
    # Polling again before the back-off is over does not knock at the closed door again.
    assert deliver(session_factory, down, now + timedelta(seconds=29)).total == 0
    assert reload(session, message).attempts == 1


def test_message_is_delivered_once_when_the_server_comes_back(
    session, session_factory, now, smtp_server
):
    message = queue_simple(session, now)
    session.commit()
    deliver(session_factory, smtp_down(), now)

    later = now + MINUTE
    first = deliver(session_factory, smtp_server.smtp(), later)
    second = deliver(session_factory, smtp_server.smtp(), later + 10 * MINUTE)

    assert (first.sent, second.total) == (1, 0)
    assert [mail["X-Hub-Message-Id"] for mail in smtp_server.wait_for(1)] == [str(message.id)]
    row = reload(session, message)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (
        MailStatus.SENT,
        2,
        later,
        None,
    )


def test_back_off_doubles_from_30_seconds_up_to_an_hour(session, session_factory, now):
    message = queue_simple(session, now)
    session.commit()
    moment, delays = now, []
    for _ in range(9):
        deliver(session_factory, smtp_down(), moment)
        row = reload(session, message)
        delays.append(row.next_attempt_at - moment)
        moment = row.next_attempt_at

    expected = [min(30 * 2**n, 3600) for n in range(9)]  # 30 s … 3840 s capped to 1 h
    assert [round(d.total_seconds()) for d in delays] == pytest.approx(expected, rel=0.1)
    assert all(d >= timedelta(seconds=base) for d, base in zip(delays, expected, strict=True))
    assert reload(session, message).attempts == 9


def test_server_down_stops_the_batch_after_one_connection_attempt(session, session_factory, now):
    first, second, third = (queue_simple(session, now) for _ in range(3))
    session.commit()

    report = deliver(session_factory, smtp_down(), now)

    assert report.retried == 1
    assert [reload(session, m).attempts for m in (first, second, third)] == [1, 0, 0]
    assert reload(session, third).next_attempt_at == now


def test_one_connection_carries_the_whole_batch(session, session_factory, now, smtp_server):
    for _ in range(3):
        queue_simple(session, now)
    session.commit()

    report = deliver(session_factory, smtp_server.smtp(), now)

    assert report.sent == 3
    smtp_server.wait_for(3)
    assert len(set(smtp_server.handler.peers)) == 1


def test_permanent_recipient_refusal_fails_at_once_and_the_batch_goes_on(
    session, session_factory, now, smtp_server
):
    smtp_server.handler.refusals["inconnu@example.org"] = "550 5.1.1 Destinataire inconnu"
    refused = queue_simple(session, now, recipient="inconnu@example.org")
    accepted = queue_simple(session, now)
    session.commit()

    report = deliver(session_factory, smtp_server.smtp(), now)

    assert report == DeliveryReport(sent=1, failed=1)
    assert [m["To"] for m in smtp_server.wait_for(1)] == ["jeanne.durand@example.org"]
    row = reload(session, refused)
    assert (row.status, row.attempts) == (MailStatus.FAILED, 1)
    assert "550 5.1.1 Destinataire inconnu" in row.last_error
    assert reload(session, accepted).status is MailStatus.SENT
    assert deliver(session_factory, smtp_server.smtp(), now + timedelta(days=1)).total == 0


def test_temporary_recipient_refusal_is_retried(session, session_factory, now, smtp_server):
    smtp_server.handler.refusals["jeanne.durand@example.org"] = "450 4.2.0 Réessayez plus tard"
    message = queue_simple(session, now)
    session.commit()

    report = deliver(session_factory, smtp_server.smtp(), now)
    del smtp_server.handler.refusals["jeanne.durand@example.org"]
    again = deliver(session_factory, smtp_server.smtp(), now + MINUTE)

    assert (report.retried, again.sent) == (1, 1)
    assert reload(session, message).status is MailStatus.SENT


def test_message_fails_once_max_attempts_are_spent(session, session_factory, now):
    message = queue_simple(session, now)
    session.commit()
    smtp = smtp_down(max_attempts=2)

    first = deliver(session_factory, smtp, now)
    second = deliver(session_factory, smtp, now + MINUTE)

    assert (first.retried, second.failed) == (1, 1)
    row = reload(session, message)
    assert (row.status, row.attempts) == (MailStatus.FAILED, 2)
    assert deliver(session_factory, smtp, now + timedelta(days=1)).total == 0


def test_all_pending_ignores_the_back_off(session, session_factory, now, smtp_server):
    message = queue_simple(session, now)
    session.commit()
    deliver(session_factory, smtp_down(), now)

    report = deliver(session_factory, smtp_server.smtp(), now, due_only=False)

    assert report.sent == 1
    assert reload(session, message).status is MailStatus.SENT


def test_two_senders_at_once_send_each_message_exactly_once(
    session, session_factory, now, smtp_server
):
    ids = {str(queue_simple(session, now).id) for _ in range(40)}
    session.commit()
    start = threading.Barrier(2)
    reports: list[DeliveryReport] = []

    def sender() -> None:
        start.wait()
        reports.append(deliver(session_factory, smtp_server.smtp(), now))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert sum(report.sent for report in reports) == 40
    received = [mail["X-Hub-Message-Id"] for mail in smtp_server.wait_for(40)]
    assert sorted(received) == sorted(ids)


# --- TLS and authentication --------------------------------------------------------------------


def test_starttls_with_a_private_authority_and_login(session, session_factory, now, tmp_path):
    certificate = self_signed_certificate(tmp_path)
    message = queue_simple(session, now)
    session.commit()

    with running_smtp_server(
        tls_context=certificate.server_context(),
        require_starttls=True,
        authenticator=password_authenticator("hub", "s3cret"),
        auth_required=True,
    ) as server:
        smtp = server.smtp(
            starttls=True, ca_file=str(certificate.cert_file), username="hub", password="s3cret"
        )
        report = deliver(session_factory, smtp, now)

        assert report.sent == 1
        assert server.wait_for(1)[0]["X-Hub-Message-Id"] == str(message.id)


def test_wrong_password_keeps_mail_pending(session, session_factory, now, tmp_path):
    certificate = self_signed_certificate(tmp_path)
    message = queue_simple(session, now)
    session.commit()

    with running_smtp_server(
        tls_context=certificate.server_context(),
        authenticator=password_authenticator("hub", "s3cret"),
        auth_required=True,
    ) as server:
        smtp = server.smtp(
            starttls=True, ca_file=str(certificate.cert_file), username="hub", password="wrong"
        )
        report = deliver(session_factory, smtp, now)

    assert report.retried == 1
    row = reload(session, message)
    assert row.status is MailStatus.PENDING
    assert row.last_error.startswith("535")


def test_untrusted_certificate_keeps_mail_pending(session, session_factory, now, tmp_path):
    certificate = self_signed_certificate(tmp_path)
    message = queue_simple(session, now)
    session.commit()

    with running_smtp_server(
        tls_context=certificate.server_context(), require_starttls=True
    ) as server:
        report = deliver(session_factory, server.smtp(starttls=True), now)

        assert report.retried == 1
        assert server.messages == []
    assert "CERTIFICATE_VERIFY_FAILED" in reload(session, message).last_error


def test_server_demanding_starttls_never_gets_mail_in_clear(
    session, session_factory, now, tmp_path
):
    certificate = self_signed_certificate(tmp_path)
    message = queue_simple(session, now)
    session.commit()

    with running_smtp_server(
        tls_context=certificate.server_context(), require_starttls=True
    ) as server:
        report = deliver(session_factory, server.smtp(), now)

        assert server.messages == []
    assert report.retried == 1
    row = reload(session, message)
    assert row.status is MailStatus.PENDING
    assert row.last_error.startswith("530")


def test_implicit_tls(session, session_factory, now, tmp_path):
    certificate = self_signed_certificate(tmp_path)
    queue_simple(session, now)
    session.commit()

    with running_smtp_server(ssl_context=certificate.server_context()) as server:
        report = deliver(
            session_factory, server.smtp(ssl=True, ca_file=str(certificate.cert_file)), now
        )

        assert report.sent == 1
        server.wait_for(1)


# --- the background worker ---------------------------------------------------------------------


def test_worker_delivers_in_the_background_and_stops_promptly(
    session, session_factory, smtp_server
):
    worker = MailWorker(session_factory, SmtpSender(smtp_server.smtp()), poll_seconds=0.05)
    worker.start()
    try:
        message = queue_simple(session, utcnow())
        session.commit()
        (mail,) = smtp_server.wait_for(1)
        assert mail["X-Hub-Message-Id"] == str(message.id)
    finally:
        started = time.monotonic()
        assert worker.stop(timeout=5)
    assert time.monotonic() - started < 1
    assert not worker.is_running


def test_worker_sleeping_between_polls_wakes_up_to_stop(session, session_factory, smtp_server):
    queue_simple(session, utcnow())
    session.commit()
    worker = MailWorker(session_factory, SmtpSender(smtp_server.smtp()), poll_seconds=3600)
    worker.start()
    smtp_server.wait_for(1)  # its first run is over: it now sleeps for an hour

    started = time.monotonic()
    assert worker.stop(timeout=5)
    assert time.monotonic() - started < 1


def test_worker_outlives_a_broken_database(tmp_path, smtp_server, caplog):
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")  # no tables at all
    worker = MailWorker(make_session_factory(engine), SmtpSender(smtp_server.smtp()), 0.02)
    worker.start()
    try:
        deadline = time.monotonic() + 5
        while caplog.text.count("mail worker pass failed") < 2:
            assert time.monotonic() < deadline, "the worker did not try twice"
            time.sleep(0.02)
        assert worker.is_running
    finally:
        assert worker.stop(timeout=5)
        engine.dispose()
    assert "no such table: outbox_messages" in caplog.text
