"""Who may deposit for whom on Certificateurs (R7, R12, R13), read from the hub's claims — the
portal keeps no copy of accounts or mandates.

A person deposits through a valid account of their own holding `data_exchange`: for that
account's structure, or — when the structure is a mandated depositor (tiers de confiance, the
claim's `deposits_for`) — for each certifier it is mandated by. An expired account grants
nothing (R5, mid-session too: the claims are read again within `CLAIMS_MAX_AGE`); a delegated
administrator (R9) holds no account here, hence not the right, which belongs to the
structure's own accounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g

from portals.kit.auth.access import Person, current_person
from portals.kit.messages import right_missing, right_not_delegated
from portals.kit.structures import StructureRef

DATA_EXCHANGE = "data_exchange"


@dataclass(frozen=True)
class Channel:
    """One way a person deposits: for `certifier`, in the name of `depositor` (the same
    structure, or the tiers de confiance mandated by it)."""

    certifier: StructureRef
    depositor: StructureRef

    @property
    def mandated(self) -> bool:
        return self.certifier.matricule != self.depositor.matricule


@dataclass(frozen=True)
class DepositRights:
    """What a signed-in person may do with deposits; `refusal` says why they may not."""

    channels: tuple[Channel, ...]
    refusal: str | None = None

    @property
    def may_deposit(self) -> bool:
        return bool(self.channels)

    @property
    def certifiers(self) -> tuple[StructureRef, ...]:
        return tuple(channel.certifier for channel in self.channels)

    @property
    def depositors(self) -> tuple[StructureRef, ...]:
        return tuple(dict.fromkeys(channel.depositor for channel in self.channels))

    @property
    def for_several(self) -> bool:
        """Whether the person chooses among certifiers (a tiers de confiance, or several)."""
        return len(self.channels) > 1 or any(channel.mandated for channel in self.channels)

    @property
    def certifier_matricules(self) -> list[str]:
        return [channel.certifier.matricule for channel in self.channels]

    @property
    def mandates(self) -> dict[str, str]:
        """{certifier: tiers} for the certifiers deposited for as a tiers de confiance, whose
        deposits the person sees only as far as that tiers made them."""
        return {
            channel.certifier.matricule: channel.depositor.matricule
            for channel in self.channels
            if channel.mandated
        }

    def channel(self, matricule: str) -> Channel | None:
        return next((c for c in self.channels if c.certifier.matricule == matricule), None)


def current_rights() -> DepositRights | None:
    """The signed-in person's rights (None for a visitor), read once per request: the page
    and its menu ask for them."""
    if "deposit_rights" not in g:
        person = current_person()
        g.deposit_rights = deposit_rights(person) if person is not None else None
    return g.deposit_rights


def deposit_rights(person: Person) -> DepositRights:
    accounts = [
        account
        for account in person.valid_accounts
        if DATA_EXCHANGE in account.rights and account.via is None
    ]
    if not accounts:
        via = person.delegated_from
        refusal = right_not_delegated(DATA_EXCHANGE, via) if via else right_missing(DATA_EXCHANGE)
        return DepositRights((), refusal)
    channels: dict[str, Channel] = {}
    for account in accounts:
        own = StructureRef(account.matricule, account.structure_name)
        for certifier in account.deposits_for or (own,):
            channels.setdefault(certifier.matricule, Channel(certifier, own))
    ordered = sorted(channels.values(), key=lambda c: (c.certifier.name, c.certifier.matricule))
    return DepositRights(tuple(ordered))
