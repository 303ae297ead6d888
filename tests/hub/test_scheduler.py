"""The periodic jobs run by one instance at a time, through the `scheduler` lease (issue 16)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest

from hub import leases
from hub.scheduler import LEASE_NAME, Job, Scheduler
from tests.conftest import NOW


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def instance(session_factory, clock, name: str, runs: list[str], *, every: float = 60) -> Scheduler:
    job = Job("job", timedelta(seconds=every), lambda now: runs.append(name))
    return Scheduler(session_factory, [job], lease_seconds=15, clock=clock, holder=name)


def holder_now(session_factory, clock) -> list[str]:
    with session_factory() as session:
        return [lease.holder for lease in leases.holders(session, now=clock())]


def test_of_two_instances_only_the_lease_holder_runs_the_jobs(session_factory, clock):
    runs: list[str] = []
    first = instance(session_factory, clock, "first", runs)
    second = instance(session_factory, clock, "second", runs)

    for _tick in range(3):
        first.run_pass()
        second.run_pass()
        clock.advance(5)

    assert runs == ["first"]
    assert holder_now(session_factory, clock) == ["first"]


def test_an_instance_that_stops_renewing_is_replaced_once_its_lease_expires(session_factory, clock):
    runs: list[str] = []
    killed = instance(session_factory, clock, "killed", runs)
    survivor = instance(session_factory, clock, "survivor", runs)
    killed.run_pass()

    clock.advance(14)
    survivor.run_pass()
    assert runs == ["killed"]
    clock.advance(2)  # 16 s without a renewal: the 15 s lease is over
    survivor.run_pass()

    assert runs == ["killed", "survivor"]
    assert holder_now(session_factory, clock) == ["survivor"]
    killed.run_pass()  # back from the dead: it finds the lease taken
    assert runs == ["killed", "survivor"]
    assert not killed.holding


def test_a_clean_stop_gives_the_lease_up_at_once(session_factory, clock):
    runs: list[str] = []
    stopping = instance(session_factory, clock, "stopping", runs)
    other = instance(session_factory, clock, "other", runs)
    stopping.run_pass()

    assert stopping.stop()
    other.run_pass()

    assert runs == ["stopping", "other"]


def test_the_holder_runs_each_job_at_its_period_and_a_failing_job_does_not_stop_the_others(
    session_factory, clock
):
    runs: list[str] = []

    def failing(now: datetime) -> None:
        runs.append("failing")
        raise RuntimeError("a bug in one job")

    scheduler = Scheduler(
        session_factory,
        [
            Job("failing", timedelta(hours=1), failing),
            Job("hourly", timedelta(hours=1), lambda now: runs.append("hourly")),
        ],
        lease_seconds=15,
        clock=clock,
    )
    scheduler.run_pass()
    clock.advance(30)
    scheduler.run_pass()  # neither due again
    clock.advance(31)
    scheduler.run_pass()  # the failed one is tried again after a minute, the other waits an hour

    assert runs == ["failing", "hourly", "failing"]


def test_instances_racing_for_a_free_lease_give_it_to_exactly_one(session_factory, clock):
    taken: list[bool] = []
    start = threading.Barrier(6)

    def race(name: str) -> None:
        start.wait()
        taken.append(
            leases.hold(session_factory, LEASE_NAME, name, now=clock(), ttl=timedelta(seconds=15))
        )

    threads = [threading.Thread(target=race, args=(f"instance-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(taken) == [False] * 5 + [True]
