"""The background workers when the database goes away and comes back (issue 16), on a
PostgreSQL server of the tests' own and a real SMTP server: they pause with one line in the log
and resume, and each queued mail arrives once — neither lost nor sent twice."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import migrations
from hub.clock import utcnow
from hub.database import make_engine, make_session_factory
from hub.mail.models import MailStatus, OutboxMessage
from hub.mail.sender import SmtpSender
from hub.mail.worker import MailWorker
from tests.fixtures.postgres_server import PostgresServer
from tests.fixtures.postgres_server import postgres_server as postgres_server
from tests.fixtures.smtp import CollectingHandler, SmtpServer, running_smtp_server
from tests.hub.test_mail import queue_simple

MAILS = 5


@pytest.fixture(scope="module")
def database(postgres_server: PostgresServer) -> str:
    url = postgres_server.url()
    migrations.upgrade(url)
    return url


@pytest.fixture
def session_factory(database: str, postgres_server: PostgresServer) -> Iterator[sessionmaker]:
    engine = make_engine(database)
    yield make_session_factory(engine)
    if not postgres_server.is_running():
        postgres_server.start()
    with engine.begin() as connection:
        connection.execute(OutboxMessage.__table__.delete())
    engine.dispose()


def queue_mails(session_factory: sessionmaker[Session], count: int) -> None:
    now = utcnow()
    with session_factory.begin() as session:
        for number in range(count):
            queue_simple(session, now, recipient=f"personne.{number}@example.org")


def statuses(session_factory: sessionmaker[Session]) -> list[MailStatus]:
    with session_factory() as session:
        return list(session.scalars(select(OutboxMessage.status).order_by(OutboxMessage.id)))


def received_once_each(smtp: SmtpServer) -> None:
    ids = [message["X-Hub-Message-Id"] for message in smtp.messages]
    assert len(ids) == MAILS, ids
    assert len(set(ids)) == MAILS, ids


def test_the_mail_worker_waits_for_the_database_then_sends_each_mail_once(
    postgres_server, session_factory, caplog
):
    queue_mails(session_factory, MAILS)
    postgres_server.stop()
    caplog.set_level(logging.INFO, logger="hub.workers")

    with running_smtp_server() as smtp:
        worker = MailWorker(session_factory, SmtpSender(smtp.smtp()), poll_seconds=0.2)
        worker.start()
        try:
            postgres_server.start_later(2.0).join()
            smtp.wait_for(MAILS, timeout=30)
        finally:
            assert worker.stop()

    received_once_each(smtp)
    assert statuses(session_factory) == [MailStatus.SENT] * MAILS
    paused = [r for r in caplog.records if "paused: the database is unavailable" in r.message]
    assert len(paused) == 1
    assert paused[0].exc_info is None  # one line, no traceback
    assert any("resumed: the database is back" in r.message for r in caplog.records)


class StopsTheDatabase(CollectingHandler):
    """An SMTP server that takes the first message while the database restarts: the sender
    learns that the server took it when the database is gone."""

    def __init__(self, database: PostgresServer) -> None:
        super().__init__()
        self.database = database

    async def handle_DATA(self, server, session, envelope) -> str:
        if not self.messages:
            self.database.stop()
            self.database.start_later(2.0)
        return await super().handle_DATA(server, session, envelope)


def test_a_mail_sent_while_the_database_goes_away_is_recorded_sent_and_not_sent_again(
    postgres_server, session_factory
):
    queue_mails(session_factory, MAILS)

    with running_smtp_server(handler=StopsTheDatabase(postgres_server)) as smtp:
        worker = MailWorker(session_factory, SmtpSender(smtp.smtp()), poll_seconds=0.2)
        worker.start()
        try:
            smtp.wait_for(MAILS, timeout=30)
        finally:
            assert worker.stop()

    received_once_each(smtp)
    # Recorded as sent, each of them: none is left leased, to be sent again once its lease ends.
    assert statuses(session_factory) == [MailStatus.SENT] * MAILS
