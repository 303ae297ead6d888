"""Certificateurs' deposits (R13), for the pages. Every function takes `ctx`, the process's
`Deposits` (`portals.certificateurs.deposits.extension.current_deposits()` in a view), and
who may see what comes from the caller: the hub's claims say which certifiers a person may
deposit for and see (their own structure, the certifiers whose mandate is current).

- `receive(ctx, *, stream, filename, certifier, depositor, person, now,
  confirm_duplicate=False) -> Deposit` stores an upload (streamed, hashed, size-limited, type
  sniffed on its first bytes) and queues its processing. Raises `DepositRefused` (nothing
  recorded: too large, empty, not the type its name says, a name with nothing left once
  cleaned) or `DuplicateDeposit` (the same content was already deposited for this certifier;
  `.previous` is that deposit; `.sha256` and `.filename` let a confirmation form call
  `receive_confirmed_duplicate` without sending the file again).
- `receive_confirmed_duplicate(ctx, *, sha256, filename, certifier, depositor, person, now)
  -> Deposit`: the confirmed second deposit of a content already deposited for `certifier`
  (DepositRefused when it was not).
- `history(ctx, *, certifiers, only_by=None, certifier=None, state=None, since=None,
  until=None, page=1, per_page=20) -> HistoryPage`: the deposits for the `certifiers`
  (matricules) the person may see — for those in `only_by` ({certifier: tiers}), only the ones
  that tiers de confiance made — newest first, optionally one certifier, one state, received
  between two dates (Paris, both included).
- `find(ctx, number, *, certifiers, only_by=None) -> Deposit`, raising `DepositNotFound` for a
  number that does not exist or is not visible so (pages answer 404 alike).
- `rejections(ctx, deposit, *, limit=None, offset=0) -> list[RejectionLine]`, in file order.
- `original(ctx, deposit) -> Path`: the file as deposited (send it as `deposit.filename`).
- Receipts, as PDF bytes: `receipts.reception_receipt(deposit)` and
  `receipts.processing_receipt(ctx, deposit)` (ReceiptNotReady until processed or refused).

Every error is a `DepositError` with `.message`, the French sentence to show.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from portals.certificateurs.deposits import filenames, messages, storage
from portals.certificateurs.deposits.context import Deposits
from portals.certificateurs.deposits.domain import (
    Deposit,
    HistoryPage,
    PersonRef,
    RejectionLine,
    StructureRef,
    deposit_from_row,
)
from portals.certificateurs.deposits.errors import (
    DepositNotFound,
    DepositRefused,
    DuplicateDeposit,
)
from portals.certificateurs.deposits.formats import FileRefused, Format, sniff
from portals.certificateurs.deposits.models import (
    RECEIVED,
    STATES,
    deposit_rejections,
    deposits,
)
from portals.kit.clock import PARIS

MAX_PER_PAGE = 100


def receive(
    ctx: Deposits,
    *,
    stream: BinaryIO,
    filename: str,
    certifier: StructureRef,
    depositor: StructureRef,
    person: PersonRef,
    now: datetime,
    confirm_duplicate: bool = False,
) -> Deposit:
    name = filenames.sanitise(filename)
    sniffed: list[Format] = []

    def inspect(head: bytes) -> None:
        sniffed.append(sniff(head, name))

    try:
        stored = storage.store(
            stream,
            ctx.settings.deposits_path,
            max_bytes=ctx.settings.max_bytes,
            inspect_head=inspect,
        )
    except storage.UploadTooLarge as error:
        raise DepositRefused(messages.too_large(error.max_bytes)) from None
    except storage.EmptyUpload:
        raise DepositRefused(messages.EMPTY_FILE) from None
    except FileRefused as refusal:
        raise DepositRefused(refusal.message) from None
    fmt = sniffed[0]
    try:
        with ctx.engine.begin() as connection:
            if not confirm_duplicate:
                previous = _latest_with_content(connection, certifier.matricule, stored.sha256)
                if previous is not None:
                    raise DuplicateDeposit(previous, sha256=stored.sha256, filename=name)
            total = stored.lines - 1 if fmt is Format.CSV else None
            deposit = _insert(
                connection,
                name=name,
                stored_size=stored.size,
                sha256=stored.sha256,
                fmt=fmt,
                records_total=total,
                certifier=certifier,
                depositor=depositor,
                person=person,
                now=now,
            )
    except DuplicateDeposit:
        raise
    except BaseException:
        if stored.newly_stored:
            stored.path.unlink(missing_ok=True)
        raise
    ctx.queue.enqueue(deposit.number)
    return deposit


def receive_confirmed_duplicate(
    ctx: Deposits,
    *,
    sha256: str,
    filename: str,
    certifier: StructureRef,
    depositor: StructureRef,
    person: PersonRef,
    now: datetime,
) -> Deposit:
    name = filenames.sanitise(filename)
    with ctx.engine.begin() as connection:
        previous = _latest_with_content(connection, certifier.matricule, sha256)
        path = storage.path_of(ctx.settings.deposits_path, sha256)
        if previous is None or not path.is_file():
            raise DepositRefused(messages.UNKNOWN_DUPLICATE)
        with path.open("rb") as handle:
            head = handle.read(storage.HEAD_BYTES)
        try:
            fmt = sniff(head, name)
        except FileRefused as refusal:
            raise DepositRefused(refusal.message) from None
        deposit = _insert(
            connection,
            name=name,
            stored_size=previous.size,
            sha256=sha256,
            fmt=fmt,
            records_total=previous.records_total if previous.format == fmt.name else None,
            certifier=certifier,
            depositor=depositor,
            person=person,
            now=now,
        )
    ctx.queue.enqueue(deposit.number)
    return deposit


def history(
    ctx: Deposits,
    *,
    certifiers: Sequence[str],
    only_by: Mapping[str, str] | None = None,
    certifier: str | None = None,
    state: str | None = None,
    since: date | None = None,
    until: date | None = None,
    page: int = 1,
    per_page: int = 20,
) -> HistoryPage:
    page = max(1, page)
    per_page = min(max(1, per_page), MAX_PER_PAGE)
    visible = [certifier] if certifier is not None else list(certifiers)
    if certifier is not None and certifier not in certifiers:
        visible = []
    conditions = [_visible(visible, only_by)]
    if state is not None:
        conditions.append(deposits.c.state == (state if state in STATES else ""))
    if since is not None:
        conditions.append(deposits.c.received_at >= _paris_midnight(since))
    if until is not None:
        conditions.append(deposits.c.received_at < _paris_midnight(until + timedelta(days=1)))
    if not visible:
        return HistoryPage([], 0, page, per_page)
    with ctx.engine.connect() as connection:
        total = connection.scalar(select(func.count()).select_from(deposits).where(*conditions))
        rows = connection.execute(
            select(deposits)
            .where(*conditions)
            .order_by(deposits.c.received_at.desc(), deposits.c.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).mappings()
        return HistoryPage([deposit_from_row(row) for row in rows], total or 0, page, per_page)


def find(
    ctx: Deposits,
    number: str,
    *,
    certifiers: Sequence[str],
    only_by: Mapping[str, str] | None = None,
) -> Deposit:
    with ctx.engine.connect() as connection:
        row = (
            connection.execute(
                select(deposits).where(deposits.c.number == number, _visible(certifiers, only_by))
            )
            .mappings()
            .first()
        )
    if row is None:
        raise DepositNotFound(number)
    return deposit_from_row(row)


def _visible(certifiers: Sequence[str], only_by: Mapping[str, str] | None) -> ColumnElement[bool]:
    """The deposits for `certifiers`; for those in `only_by` (the certifiers a tiers de
    confiance deposits for), only the ones that tiers made: a mandate opens the certifier's
    deposits to nobody."""
    only_by = only_by or {}
    own = [matricule for matricule in certifiers if matricule not in only_by]
    mandated = [
        and_(deposits.c.certifier_matricule == matricule, deposits.c.depositor_matricule == tiers)
        for matricule, tiers in only_by.items()
        if matricule in certifiers
    ]
    return or_(deposits.c.certifier_matricule.in_(own), *mandated)


def rejections(
    ctx: Deposits, deposit: Deposit, *, limit: int | None = None, offset: int = 0
) -> list[RejectionLine]:
    query = (
        select(
            deposit_rejections.c.location, deposit_rejections.c.field, deposit_rejections.c.reason
        )
        .join(deposits, deposits.c.id == deposit_rejections.c.deposit_id)
        .where(deposits.c.number == deposit.number)
        .order_by(deposit_rejections.c.position, deposit_rejections.c.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    with ctx.engine.connect() as connection:
        return [RejectionLine(*row) for row in connection.execute(query)]


def original(ctx: Deposits, deposit: Deposit) -> Path:
    path = storage.path_of(ctx.settings.deposits_path, deposit.sha256)
    if not path.is_file():
        raise DepositNotFound(deposit.number)
    return path


def _latest_with_content(connection: Connection, certifier: str, sha256: str) -> Deposit | None:
    row = (
        connection.execute(
            select(deposits)
            .where(deposits.c.certifier_matricule == certifier, deposits.c.sha256 == sha256)
            .order_by(deposits.c.received_at.desc(), deposits.c.id.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    return None if row is None else deposit_from_row(row)


def _insert(
    connection: Connection,
    *,
    name: str,
    stored_size: int,
    sha256: str,
    fmt: Format,
    records_total: int | None,
    certifier: StructureRef,
    depositor: StructureRef,
    person: PersonRef,
    now: datetime,
) -> Deposit:
    """The number is the row's id under the year it was received in (Paris), e.g.
    « D-2026-000123 »: unique, short enough to read over the phone."""
    values = {
        "number": f"pending-{secrets.token_hex(8)}",
        "certifier_matricule": certifier.matricule,
        "certifier_name": certifier.name,
        "depositor_matricule": depositor.matricule,
        "depositor_name": depositor.name,
        "person_sub": person.sub,
        "person_name": person.name,
        "filename": name,
        "size": stored_size,
        "sha256": sha256,
        "format": fmt.name,
        "state": RECEIVED,
        "records_done": 0,
        "records_total": records_total,
        "accepted": 0,
        "rejected": 0,
        "received_at": now,
        "attempts": 0,
    }
    deposit_id = connection.execute(insert(deposits).values(values)).inserted_primary_key[0]
    number = f"D-{now.astimezone(PARIS).year}-{deposit_id:06d}"
    connection.execute(update(deposits).where(deposits.c.id == deposit_id).values(number=number))
    row = connection.execute(select(deposits).where(deposits.c.id == deposit_id)).mappings().one()
    return deposit_from_row(row)


def _paris_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=PARIS)
