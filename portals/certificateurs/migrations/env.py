"""Alembic environment of Certificateurs' deposit tables: always run on a connection the
portal gives (`portals.certificateurs.migrations.upgrade`), with a version table of its own and
only its own tables in view, so that it shares the kit's database without touching it."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.types import TypeDecorator

from portals.certificateurs.deposits.models import metadata
from portals.certificateurs.migrations import VERSION_TABLE

config = context.config
target_metadata = metadata


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """The kit's tables (sessions, logout tokens) are not ours to migrate."""
    if type_ == "table":
        return name in metadata.tables
    return True


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Plain SQL types in the migrations, as the hub's do: no dependency on model code."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return repr(obj.impl).replace("DateTime(", "sa.DateTime(")
    return False


connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=target_metadata,
    version_table=VERSION_TABLE,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=render_item,
)
with context.begin_transaction():
    context.run_migrations()
