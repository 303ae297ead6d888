"""What the deposit service refuses, each error carrying the French sentence a page shows."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portals.certificateurs.deposits import messages
from portals.kit.clock import paris_date_time

if TYPE_CHECKING:
    from portals.certificateurs.deposits.service import Deposit


class DepositError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class DepositRefused(DepositError):
    """The upload is not a deposit (too large, empty, not the type its name says, a name that
    cannot be kept): nothing was recorded."""


class DuplicateDeposit(DepositError):
    """The same content was already deposited for this certifier: the person must confirm
    (`receive(..., confirm_duplicate=True)` or `receive_confirmed_duplicate`)."""

    def __init__(self, previous: Deposit, *, sha256: str, filename: str) -> None:
        super().__init__(messages.duplicate(previous.number, paris_date_time(previous.received_at)))
        self.previous = previous
        self.sha256 = sha256
        self.filename = filename  # sanitised


class DepositNotFound(DepositError):
    """No such deposit, or not one this person may see: pages answer 404 alike."""

    def __init__(self, number: str) -> None:
        super().__init__("Ce dépôt n'existe pas.")
        self.number = number


class ReceiptNotReady(DepositError):
    """The accusé de traitement exists once the deposit is processed (or refused)."""

    def __init__(self) -> None:
        super().__init__(messages.NOT_PROCESSED_YET)
