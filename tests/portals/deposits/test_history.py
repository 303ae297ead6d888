"""R13 « Historique des dépôts »: the visible certifiers' deposits, newest first, filtered by
certifier, state and period (Paris days), paginated; nobody finds another structure's deposit."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from portals.certificateurs.deposits import processing, service
from portals.certificateurs.deposits.errors import DepositNotFound
from tests.portals.deposits.conftest import ALPHA, BETA, NOW, TIERS
from tests.portals.deposits.files import csv_bytes


def numbers(page) -> list[str]:
    return [deposit.number for deposit in page.deposits]


def test_r13_history_is_newest_first_and_paginated(ctx, deposit_file):
    made = [deposit_file(csv_bytes(i + 1), now=NOW + timedelta(minutes=i)) for i in range(25)]
    newest_first = [deposit.number for deposit in reversed(made)]

    first = service.history(ctx, certifiers=["100001"], per_page=10)
    last = service.history(ctx, certifiers=["100001"], page=3, per_page=10)

    assert numbers(first) == newest_first[:10]
    assert (first.total, first.pages, first.has_previous, first.has_next) == (25, 3, False, True)
    assert numbers(last) == newest_first[20:]
    assert (last.has_previous, last.has_next) == (True, False)


def test_r13_a_structure_sees_only_its_certifiers_deposits(ctx, deposit_file):
    alpha = deposit_file(csv_bytes(1), certifier=ALPHA)
    beta = deposit_file(csv_bytes(2), certifier=BETA, depositor=TIERS)

    assert numbers(service.history(ctx, certifiers=["100001"])) == [alpha.number]
    assert numbers(service.history(ctx, certifiers=["100002"])) == [beta.number]
    assert service.history(ctx, certifiers=[]).total == 0


def test_r13_a_depositor_filters_by_certifier_among_those_it_may_see(ctx, deposit_file):
    alpha = deposit_file(csv_bytes(1), certifier=ALPHA, depositor=TIERS)
    beta = deposit_file(csv_bytes(2), certifier=BETA, depositor=TIERS, now=NOW + timedelta(1))
    mandates = ["100001", "100002"]

    assert numbers(service.history(ctx, certifiers=mandates)) == [beta.number, alpha.number]
    assert numbers(service.history(ctx, certifiers=mandates, certifier="100001")) == [alpha.number]
    assert service.history(ctx, certifiers=["100002"], certifier="100001").total == 0


def test_r13_history_filters_by_paris_day(ctx, deposit_file):
    # 23:30 UTC on 3 December is 00:30 on 4 December in Paris.
    late = deposit_file(csv_bytes(1), now=NOW.replace(day=3, hour=23, minute=30))
    before = deposit_file(csv_bytes(2), now=NOW.replace(day=3, hour=22, minute=30))
    after = deposit_file(csv_bytes(3), now=NOW.replace(day=5, hour=8))

    on_the_4th = service.history(
        ctx, certifiers=["100001"], since=date(2026, 12, 4), until=date(2026, 12, 4)
    )
    from_the_4th = service.history(ctx, certifiers=["100001"], since=date(2026, 12, 4))
    until_the_3rd = service.history(ctx, certifiers=["100001"], until=date(2026, 12, 3))

    assert numbers(on_the_4th) == [late.number]
    assert numbers(from_the_4th) == [after.number, late.number]
    assert numbers(until_the_3rd) == [before.number]


def test_r13_history_filters_by_state(ctx, deposit_file):
    waiting = deposit_file(csv_bytes(1))
    done = deposit_file(csv_bytes(2), now=NOW + timedelta(minutes=1))
    refused = deposit_file(b"nom,prenom\nA,B\n", "mauvais.csv", now=NOW + timedelta(minutes=2))
    processing.process(ctx, done.number)
    processing.process(ctx, refused.number)

    def only(state: str) -> list[str]:
        return numbers(service.history(ctx, certifiers=["100001"], state=state))

    assert only("received") == [waiting.number]
    assert only("processed") == [done.number]
    assert only("rejected") == [refused.number]
    assert only("nonsense") == []


def test_r13_find_gives_a_visible_deposit(ctx, deposit_file):
    deposit = deposit_file(csv_bytes(1))

    assert service.find(ctx, deposit.number, certifiers=["100001"]) == deposit


@pytest.mark.parametrize("number", ["D-2026-000001", "D-2026-999999", "' OR 1=1 --"])
def test_r13_another_structures_deposit_is_not_found(ctx, deposit_file, number):
    deposit_file(csv_bytes(1), certifier=ALPHA)

    with pytest.raises(DepositNotFound):
        service.find(ctx, number, certifiers=["100002"])
