"""R1 and R10 under concurrency: two people complete the registration of « Certif Beta » on
Certificateurs at the same moment.

Each completion alone would be allowed (no administrator yet), so only serialisation on the
structure keeps R10. The first completion is held uncommitted until the second is seen waiting
in PostgreSQL's lock manager; then the first commits, and the second must refuse with R10's
message naming the first person.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from hub.accounts.models import Account
from hub.audit.models import AuditEvent
from hub.demo import load_demo
from hub.errors import AdminAlreadyExists
from hub.portals.models import Portal
from hub.registration import completion, lookup, services
from hub.registration.models import Registration, RegistrationStatus
from hub.structures.models import Structure
from hub.transactions import retrying, unit_of_work
from hub.users.models import User
from tests.conftest import LIGHT_HASHING
from tests.hub.test_last_admin_concurrency import WAIT_LIMIT, wait_until_blocked_on_a_lock

LINKS = services.links("test-secret-key", "http://127.0.0.1:5000")
PEOPLE = (
    {"civility": "Mme", "first_name": "Camille", "last_name": "Lefèvre", "email": "c@beta.example"},
    {
        "civility": "M.",
        "first_name": "Dominique",
        "last_name": "Bernard",
        "email": "d@beta.example",
    },
)


@pytest.fixture
def two_registrations(session_factory, now):
    """Two people have each received the validation link for Beta on Certificateurs."""
    if session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("row-lock interleaving is observable on PostgreSQL only (SQLite: 1 writer)")
    ids = []
    with session_factory() as session, unit_of_work(session):
        load_demo(session, now=now, passwords=LIGHT_HASHING)
        portal = session.scalar(select(Portal).filter_by(code="certificateurs"))
        for step, person in enumerate(PEOPLE):
            outcome = services.attempt_request(
                session,
                portal,
                lookup.LookupRequest(matricule="100002", contract="CER-100002"),
                person,
                terms_accepted=True,
                terms_version="1.0",
                next_path=None,
                step_nonce=f"step-{step}",
                ip_address="192.0.2.1",
                now=now,
                links=LINKS,
            )
            ids.append(outcome.registration.id)
        beta = session.scalar(select(Structure.id).filter_by(matricule="100002"))
    return beta, ids


def test_r1_r10_two_concurrent_registrations_of_beta_make_exactly_one_first_admin(
    session_factory, two_registrations, now
):
    beta, (first_id, second_id) = two_registrations
    first_holds_lock = threading.Event()
    release_first = threading.Event()

    def complete_first():
        with session_factory() as session, unit_of_work(session):
            completion.complete(session, first_id, structure_id=beta, password_hash="h", now=now)
            first_holds_lock.set()
            assert release_first.wait(WAIT_LIMIT)

    def complete_second(session):
        return completion.complete(
            session, second_id, structure_id=beta, password_hash="h", now=now
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(complete_first)
        assert first_holds_lock.wait(WAIT_LIMIT)
        second = pool.submit(retrying, session_factory, complete_second)
        wait_until_blocked_on_a_lock(session_factory)
        release_first.set()
        first.result(timeout=WAIT_LIMIT)
        with pytest.raises(AdminAlreadyExists) as refused:
            second.result(timeout=WAIT_LIMIT)

    assert refused.value.message == (
        "Votre structure dispose déjà d'un administrateur : Camille Lefèvre. Rapprochez-vous de "
        "cette personne pour qu'elle vous crée un compte."
    )
    with session_factory() as check:
        (account,) = check.scalars(select(Account).filter_by(structure_id=beta)).all()
        assert account.is_first_admin
        assert account.user.email == "c@beta.example"
        assert check.scalar(select(func.count(User.id)).filter_by(email="d@beta.example")) == 0
        statuses = dict(check.execute(select(Registration.id, Registration.status)).all())
        assert statuses == {
            first_id: RegistrationStatus.COMPLETED,
            second_id: RegistrationStatus.PENDING,
        }
        refusals = check.scalars(
            select(AuditEvent).filter_by(action="registration.complete.refused")
        ).all()
        assert [event.structure_id for event in refusals] == [beta]
