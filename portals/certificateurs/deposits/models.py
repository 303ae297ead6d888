"""Certificateurs' deposit tables (SQLAlchemy Core), on a metadata of their own: the kit's
tables are created at start, these are migrated (`portals/certificateurs/migrations`), in the
same database.

A deposit copies the names it was made under (certifier, depositor, person): the hub decides
who may deposit, the portal keeps what was deposited and by whom, as it was at that moment.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from portals.kit.models import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

RECEIVED = "received"
PROCESSING = "processing"
PROCESSED = "processed"
REJECTED = "rejected"  # the file refused as a whole (its records were not all read)
STATES = (RECEIVED, PROCESSING, PROCESSED, REJECTED)
FINISHED = (PROCESSED, REJECTED)

deposits = Table(
    "deposits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("number", String(32), nullable=False, unique=True),  # « D-2026-000123 »
    Column("certifier_matricule", String(32), nullable=False),
    Column("certifier_name", String(255), nullable=False),
    Column("depositor_matricule", String(32), nullable=False),
    Column("depositor_name", String(255), nullable=False),
    Column("person_sub", String(255), nullable=False),
    Column("person_name", String(255), nullable=False),
    Column("filename", String(255), nullable=False),  # sanitised, shown and downloaded as
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),  # also where the file is kept
    Column("format", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    Column("records_done", Integer, nullable=False, default=0),
    Column("records_total", Integer),  # an estimate until processed, then exact
    Column("accepted", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("received_at", UtcDateTime, nullable=False),
    Column("processed_at", UtcDateTime),
    Column("error", Text),  # why the file was refused as a whole
    # Restart safety: the consumer processing the deposit, and until when it holds it without
    # giving news; another may take it up after that (the partial work is then cleared).
    Column("lease_owner", String(128)),
    Column("lease_until", UtcDateTime),
    Column("attempts", Integer, nullable=False, default=0),
    # The history page: a certifier's deposits, newest first.
    Index("ix_deposits_certifier_received", "certifier_matricule", "received_at"),
    # « Already deposited for this certifier? »
    Index("ix_deposits_certifier_sha256", "certifier_matricule", "sha256"),
    # Unfinished deposits, taken up again at start.
    Index("ix_deposits_state", "state"),
)

deposit_rejections = Table(
    "deposit_rejections",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "deposit_id",
        Integer,
        ForeignKey("deposits.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("position", Integer, nullable=False),  # the record's rank in the file, for order
    Column("location", String(128), nullable=False),  # « ligne 12 », « certification[3] »
    Column("field", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Index("ix_deposit_rejections_deposit_position", "deposit_id", "position"),
)
