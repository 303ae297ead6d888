"""A portal's gunicorn workers start together on a new database: each creates the kit's tables
and Certificateurs migrates its own, one process at a time, so that no worker fails to boot on
« table … already exists » (seen in `make cluster`'s test, where the portals start fresh)."""

from __future__ import annotations

import threading

from sqlalchemy import inspect

from portals.certificateurs import migrations
from portals.kit.database import create_tables, make_engine


def test_workers_starting_together_on_a_new_database_all_boot(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def boot() -> None:
        engine = make_engine(url)  # each worker has its own engine, as gunicorn's do
        start.wait()
        try:
            create_tables(engine)
            migrations.upgrade(engine)
        except BaseException as error:  # what a worker's boot would die of
            errors.append(error)
        finally:
            engine.dispose()

    workers = [threading.Thread(target=boot) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)

    assert errors == []
    assert "seen_logout_tokens" in inspect(make_engine(url)).get_table_names()
