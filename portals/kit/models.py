"""The portal's own tables (SQLAlchemy Core on the kit's metadata, created at start).

A portal keeps only what a relying party must: its browser sessions, each possibly holding a
sign-in at the hub (the hub's `sid` and `sub`, the tokens, the claims last read and when), and
the logout tokens already accepted, so that a replayed one is refused. Nothing authoritative:
the hub decides who may do what.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every backend (SQLite keeps no time zone)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


portal_sessions = Table(
    "portal_sessions",
    metadata,
    # SHA-256 of the random key the cookie carries: a copy of this table opens no session.
    Column("key_hash", String(64), primary_key=True),
    Column("data", JSON, nullable=False),  # Flask's session dict: CSRF token, sign-in state
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    # The sign-in at the hub, when there is one.
    Column("sid", String(255), index=True),
    Column("sub", String(255), index=True),
    Column("access_token", Text),
    Column("refresh_token", Text),
    Column("id_token", Text),
    Column("access_expires_at", UtcDateTime),
    Column("claims", JSON),
    Column("claims_read_at", UtcDateTime),
    # Refresh tokens rotate and a reused one revokes them all: one request refreshes at a time.
    Column("refreshing_until", UtcDateTime),
)

seen_logout_tokens = Table(
    "seen_logout_tokens",
    metadata,
    Column("jti", String(255), primary_key=True),
    Column("expires_at", UtcDateTime, nullable=False, index=True),
)
