"""Processing a deposit: its stored file streamed through `formats.records` and
`checks.check`, rejections written in batches, progress saved as it goes.

Restart safety. A consumer first claims the deposit: one conditional UPDATE takes its lease
(`lease_owner`, `lease_until`) only when nobody holds it, and clears in the same transaction
what an interrupted run left (rejections, counts): the checks need the whole file (duplicates
within it), so a run always starts from the first record. Each batch renews the lease with the
progress; a consumer that finds its lease taken stops. The end is a conditional change
(processing → processed / rejected, by the lease holder only), so a deposit finishes once and
has one accusé de traitement. A consumer killed mid-file leaves its lease to expire: the next
start (`unfinished`) queues the deposit for that moment, and a periodic look (`stalled`)
catches what no restart did.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Connection

from portals.certificateurs.deposits import checks, formats, messages, storage
from portals.certificateurs.deposits.context import Deposits
from portals.certificateurs.deposits.domain import deposit_from_row
from portals.certificateurs.deposits.models import (
    FINISHED,
    PROCESSED,
    PROCESSING,
    RECEIVED,
    REJECTED,
    deposit_rejections,
    deposits,
)
from portals.kit.clock import utcnow

log = logging.getLogger("portals.certificateurs.deposits.processing")

BATCH = 1000  # records per transaction: rejections inserted, progress saved, lease renewed
STALLED_RECEIVED_AFTER = timedelta(minutes=10)  # queued but never started: a lost task


class LeaseLost(Exception):
    """Another consumer took the deposit over (this one was too slow to give news)."""


def process(ctx: Deposits, number: str) -> None:
    """The task: claims the deposit and processes it, or returns when another consumer holds
    it or it is finished."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
    claimed = _claim(ctx, number, owner)
    if claimed is None:
        log.info("deposit %s finished or held by another consumer", number)
        return
    deposit_id, sha256, fmt_name, records_total = claimed
    run = _Run(ctx, deposit_id, owner)
    try:
        path = storage.path_of(ctx.settings.deposits_path, sha256)
        fmt = formats.Format[fmt_name]
        if records_total is None and fmt is formats.Format.XML:
            _estimate_total(ctx, deposit_id, path)
        if not run.consume(checks.check(formats.records(path, fmt))):
            log.info("deposit %s let go (consumer stopping); taken up at next start", number)
            return
        log.info(
            "deposit %s processed: %s accepted, %s rejected", number, run.accepted, run.rejected
        )
    except formats.FileRefused as refusal:
        run.refuse(refusal.message)
        log.info("deposit %s refused: %s", number, refusal.message)
    except LeaseLost:
        log.warning("deposit %s: lease lost to another consumer", number)
        return
    except Exception:
        log.exception("deposit %s: processing failed; the queue retries it", number)
        run.release()
        raise
    _prepare_receipt(ctx, number)


def _prepare_receipt(ctx: Deposits, number: str) -> None:
    """Makes the accusé de traitement now, in the background, so that its first download
    is instant; a failure here only means it is made at that download."""
    from portals.certificateurs.deposits import receipts

    try:
        with ctx.engine.connect() as connection:
            row = connection.execute(select(deposits).where(deposits.c.number == number))
            deposit = deposit_from_row(row.mappings().one())
        receipts.processing_receipt(ctx, deposit)
    except Exception:
        log.exception("deposit %s: accusé de traitement not prepared", number)


def _estimate_total(ctx: Deposits, deposit_id: int, path: Path) -> None:
    total = storage.count_occurrences(path, f"<{formats.XML_RECORD}".encode())
    with ctx.engine.begin() as connection:
        connection.execute(
            update(deposits).where(deposits.c.id == deposit_id).values(records_total=total)
        )


class _Run:
    """One consumer's pass over one deposit."""

    def __init__(self, ctx: Deposits, deposit_id: int, owner: str) -> None:
        self.ctx = ctx
        self.deposit_id = deposit_id
        self.owner = owner
        self.done = self.accepted = self.rejected = 0
        self.rows: list[dict[str, Any]] = []

    def consume(self, outcome: Iterable[tuple[formats.Record, list[checks.Rejection]]]) -> bool:
        """True when the deposit was processed to its end; False when let go (stopping)."""
        for _record, problems in outcome:
            self.done += 1
            if problems:
                self.rejected += 1
                self.rows.extend(
                    {
                        "deposit_id": self.deposit_id,
                        "position": self.done,
                        "location": problem.location[:128],
                        "field": problem.field[:64],
                        "reason": problem.reason,
                    }
                    for problem in problems
                )
            else:
                self.accepted += 1
            if self.done % BATCH == 0:
                self._save(final=False)
                if self.ctx.queue.stopping.is_set():
                    self.release()
                    return False
        self._save(final=True)
        return True

    def _save(self, *, final: bool) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "records_done": self.done,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "lease_until": now + timedelta(seconds=self.ctx.settings.lease_seconds),
        }
        if final:
            values |= {
                "state": PROCESSED,
                "processed_at": now,
                "records_total": self.done,
                "lease_owner": None,
                "lease_until": None,
            }
        with self.ctx.engine.begin() as connection:
            self._held(connection, values)
            if self.rows:
                connection.execute(insert(deposit_rejections), self.rows)
        self.rows = []

    def refuse(self, reason: str) -> None:
        """The file as a whole is refused (not well-formed further on, a wrong encoding…):
        what was checked before counts for nothing."""
        with self.ctx.engine.begin() as connection:
            self._held(
                connection,
                {
                    "state": REJECTED,
                    "processed_at": utcnow(),
                    "error": reason or messages.PROCESSING_FAILED,
                    "accepted": 0,
                    "rejected": 0,
                    "lease_owner": None,
                    "lease_until": None,
                },
            )
            connection.execute(
                delete(deposit_rejections).where(deposit_rejections.c.deposit_id == self.deposit_id)
            )

    def release(self) -> None:
        """Lets the deposit go at once (stopping, or an error the queue will retry)."""
        with self.ctx.engine.begin() as connection:
            connection.execute(
                update(deposits)
                .where(deposits.c.id == self.deposit_id, deposits.c.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
            )

    def _held(self, connection: Connection, values: dict[str, Any]) -> None:
        result = connection.execute(
            update(deposits)
            .where(
                deposits.c.id == self.deposit_id,
                deposits.c.state == PROCESSING,
                deposits.c.lease_owner == self.owner,
            )
            .values(values)
        )
        if result.rowcount != 1:
            raise LeaseLost()


def _claim(ctx: Deposits, number: str, owner: str) -> tuple[int, str, str, int | None] | None:
    now = utcnow()
    with ctx.engine.begin() as connection:
        claimed = connection.execute(
            update(deposits)
            .where(
                deposits.c.number == number,
                deposits.c.state.in_((RECEIVED, PROCESSING)),
                or_(deposits.c.lease_until.is_(None), deposits.c.lease_until < now),
            )
            .values(
                state=PROCESSING,
                lease_owner=owner,
                lease_until=now + timedelta(seconds=ctx.settings.lease_seconds),
                attempts=deposits.c.attempts + 1,
                records_done=0,
                accepted=0,
                rejected=0,
                error=None,
            )
        )
        if claimed.rowcount != 1:
            return None
        row = connection.execute(
            select(
                deposits.c.id, deposits.c.sha256, deposits.c.format, deposits.c.records_total
            ).where(deposits.c.number == number)
        ).one()
        connection.execute(
            delete(deposit_rejections).where(deposit_rejections.c.deposit_id == row.id)
        )
    return row.id, row.sha256, row.format, row.records_total


def unfinished(ctx: Deposits) -> list[tuple[str, datetime | None]]:
    """At start: every deposit not finished, with when it may be claimed (its lease's end,
    None for now)."""
    now = utcnow()
    with ctx.engine.connect() as connection:
        rows = connection.execute(
            select(deposits.c.number, deposits.c.lease_until)
            .where(deposits.c.state.not_in(FINISHED))
            .order_by(deposits.c.id)
        ).all()
    return [(number, until if until and until > now else None) for number, until in rows]


def stalled(ctx: Deposits) -> list[tuple[str, datetime | None]]:
    """Every minute: deposits whose consumer died (lease over) or whose task was lost
    (received long ago, never claimed)."""
    now = utcnow()
    with ctx.engine.connect() as connection:
        rows = connection.execute(
            select(deposits.c.number).where(
                or_(
                    (deposits.c.state == PROCESSING)
                    & or_(deposits.c.lease_until.is_(None), deposits.c.lease_until < now),
                    (deposits.c.state == RECEIVED)
                    & (deposits.c.received_at < now - STALLED_RECEIVED_AFTER),
                )
            )
        ).all()
    return [(number, None) for (number,) in rows]
