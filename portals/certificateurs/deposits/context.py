"""`Deposits`: what every deposit operation needs (the portal's database, the settings, the
queue), built once per process by `open_deposits` and passed as the first argument (`ctx`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import partial

from sqlalchemy.engine import Engine

from portals.certificateurs import migrations
from portals.certificateurs.deposits.queue import DepositQueue
from portals.certificateurs.deposits.settings import DepositSettings

log = logging.getLogger("portals.certificateurs.deposits")


@dataclass(frozen=True)
class Deposits:
    engine: Engine
    settings: DepositSettings
    queue: DepositQueue


def open_deposits(
    engine: Engine, settings: DepositSettings, *, consume: bool | None = None
) -> Deposits:
    """Migrates the deposit tables, binds the queue's tasks, takes up the deposits a previous
    run left unfinished, and (unless `consume` is False or the settings ask for no worker)
    starts this process's consumer."""
    from portals.certificateurs.deposits import processing

    migrations.upgrade(engine)
    settings.deposits_path.mkdir(parents=True, exist_ok=True)
    queue = DepositQueue(settings)
    deposits = Deposits(engine, settings, queue)
    queue.register(
        process=partial(processing.process, deposits),
        take_up_stalled=partial(processing.stalled, deposits),
    )
    for number, not_before in processing.unfinished(deposits):
        queue.enqueue(number, not_before=not_before)
    if consume is not False:
        queue.start_consumer(settings.queue_workers)
    return deposits
