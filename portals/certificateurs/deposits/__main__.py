"""`python -m portals.certificateurs.deposits`: a deposit consumer on its own, for deployments
that run the web processes with `CERTIFICATEURS_QUEUE_WORKERS=0` (the portal consumes in its own
processes otherwise). Same settings as the portal (`CERTIFICATEURS_*`); SIGTERM or Ctrl-C stop
it, letting the deposit in hand go at its next batch."""

from __future__ import annotations

import logging
import signal
import threading

from portals.certificateurs import IDENTITY
from portals.certificateurs.deposits.context import open_deposits
from portals.certificateurs.deposits.settings import DepositSettings
from portals.kit.config import PortalConfig
from portals.kit.database import make_engine


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    config = PortalConfig.from_env(IDENTITY)
    settings = DepositSettings.from_env(config.instance_path)
    engine = make_engine(config.database_url)
    deposits = open_deposits(engine, settings, consume=False)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    deposits.queue.start_consumer(max(1, settings.queue_workers))
    stop.wait()
    deposits.queue.stop_consumer()
    engine.dispose()


if __name__ == "__main__":
    main()
