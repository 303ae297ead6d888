"""R11 under concurrency: two administrators demoting each other at the same moment.

Each transaction alone would be allowed (the other admin remains), so only serialisation on the
structure can keep the invariant. The first demotion is held uncommitted until the second one is
seen waiting in PostgreSQL's lock manager; then the first commits and the second must refuse.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, text

from hub.accounts import policies
from hub.accounts.models import Account, Role
from hub.accounts.services import change_role, delete_account
from hub.actors import System
from hub.audit.models import AuditEvent
from hub.errors import LastAdministrator
from hub.structures.models import Structure
from hub.transactions import retrying, unit_of_work
from tests.factories import make_account, make_portal, make_structure

WAIT_LIMIT = 10.0
SUPPORT = System("support")


@pytest.fixture
def two_admins(session_factory, now):
    if session_factory.kw["bind"].dialect.name != "postgresql":
        pytest.skip("row-lock interleaving is observable on PostgreSQL only (SQLite: 1 writer)")
    with session_factory() as session, unit_of_work(session):
        portal = make_portal(session, "soltea")
        structure = make_structure(session, portals=(portal,))
        first = make_account(session, now=now, structure=structure, portal=portal, role=Role.ADMIN)
        second = make_account(session, now=now, structure=structure, portal=portal, role=Role.ADMIN)
        make_account(session, now=now, structure=structure, portal=portal)  # an ordinary user
        return structure.id, first.id, second.id


def wait_until_blocked_on_a_lock(session_factory) -> None:
    deadline = time.monotonic() + WAIT_LIMIT
    with session_factory() as observer:
        while time.monotonic() < deadline:
            waiting = observer.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            observer.rollback()
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("the second transaction never waited for the first one's lock")


@pytest.mark.parametrize("second_change", ["demote", "delete"])
def test_r11_two_concurrent_removals_of_the_last_two_admins_exactly_one_succeeds(
    session_factory, two_admins, now, second_change
):
    structure_id, first_id, second_id = two_admins
    first_holds_lock = threading.Event()
    release_first = threading.Event()

    def demote_first():
        with session_factory() as session, unit_of_work(session):
            change_role(session, session.get(Account, first_id), Role.USER, by=SUPPORT, now=now)
            first_holds_lock.set()
            assert release_first.wait(WAIT_LIMIT)

    def remove_second(session):
        account = session.get(Account, second_id)
        if second_change == "demote":
            change_role(session, account, Role.USER, by=SUPPORT, now=now)
        else:
            delete_account(session, account, by=SUPPORT, now=now)

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(demote_first)
        assert first_holds_lock.wait(WAIT_LIMIT)
        second = pool.submit(retrying, session_factory, remove_second)
        wait_until_blocked_on_a_lock(session_factory)
        release_first.set()
        first.result(timeout=WAIT_LIMIT)
        with pytest.raises(LastAdministrator):
            second.result(timeout=WAIT_LIMIT)

    with session_factory() as check:
        structure = check.get(Structure, structure_id)
        portal = check.get(Account, first_id).portal
        admins = policies.administrators(check, structure, portal, now=now)
        assert [a.account.id for a in admins] == [second_id]
        actions = check.scalars(select(AuditEvent.action)).all()
        assert actions == ["account.demote"]
