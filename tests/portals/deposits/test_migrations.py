"""The deposit tables are what their migrations make, next to the kit's, with a version table
of their own."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from portals.certificateurs import migrations
from portals.certificateurs.deposits.models import metadata
from portals.kit.database import create_tables


def test_migrations_make_the_models_tables_beside_the_kits(engine):
    create_tables(engine)
    migrations.upgrade(engine)
    migrations.upgrade(engine)  # a second start changes nothing

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "version_table": migrations.VERSION_TABLE,
                "include_object": lambda obj, name, type_, *_: (
                    type_ != "table" or name in metadata.tables
                ),
            },
        )
        assert compare_metadata(context, metadata) == []
        assert context.get_current_revision() is not None
    tables = set(inspect(engine).get_table_names())
    assert {"portal_sessions", "deposits", "deposit_rejections"} <= tables
    assert "alembic_version" not in tables  # the hub's name stays free


def test_downgrade_removes_the_deposit_tables_only(engine):
    create_tables(engine)
    migrations.upgrade(engine)

    migrations.downgrade(engine, "base")

    tables = set(inspect(engine).get_table_names())
    assert "deposits" not in tables
    assert "portal_sessions" in tables
