"""Step 1 of registration (R10, R12): which structure the matricule and the contract number name
on the portal, the certifiers a mandated depositor deposits for, and whether the structure
already has an administrator there — whose name the applicant is then told.

The look-up reveals a name, so it is throttled per address, apart from sign-in failures and
password-reset requests (the same counters, under keys of their own), and every attempt is
audited with its outcome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from hub import throttle, validation
from hub.accounts import policies
from hub.actors import ANONYMOUS
from hub.audit.services import audited_login, record
from hub.config import Throttling
from hub.errors import (
    UNKNOWN_CERTIFIER,
    AdminAlreadyExists,
    ContractMismatch,
    HubError,
    InvalidField,
    UnknownCertifier,
    UnknownStructure,
)
from hub.portals.models import Portal
from hub.structures.models import MANDATE_PORTALS, Structure
from hub.structures.queries import structure_with_contracts

LOOKUP_PREFIX = "register-"  # `register-ip:<address>`, next to `ip:…` and `reset-ip:…`
# Twenty look-ups an hour from one address, then an hour's wait: far more than registering
# a structure takes, far fewer than trying contract numbers or collecting administrators' names.
LOOKUP_THROTTLING = Throttling(
    window_minutes=60, delay_after=20, user_lock_after=20, ip_lock_after=20, lock_minutes=60
)
CERTIFIERS_MAX = 50
_CERTIFIER_SEPARATORS = re.compile(r"[,;\n\r]+")
NOT_A_DEPOSITOR = (
    "Vous avez indiqué des matricules de certificateurs : cochez « Je suis un déposant mandaté "
    "(tiers de confiance) », ou videz ce champ."
)


@dataclass(frozen=True)
class LookupRequest:
    """What the applicant typed at step 1, as typed."""

    matricule: str
    contract: str
    depositor: bool = False
    certifiers: str = ""


@dataclass(frozen=True)
class Lookup:
    """A structure free to register on `portal` (R10 checked), and the certifiers it deposits
    for when it registers as a mandated depositor."""

    portal: Portal
    structure: Structure
    certifiers: list[Structure] = field(default_factory=list)

    @property
    def certifier_matricules(self) -> list[str]:
        return [certifier.matricule for certifier in self.certifiers]


def lookup_key(address: str | None) -> str:
    return LOOKUP_PREFIX + throttle.ip_key(address)


def refused_until(session: Session, address: str | None, *, now: datetime) -> datetime | None:
    """Until when this address may not look structures up (None: it may)."""
    return throttle.refused_until(session, [lookup_key(address)], now=now)


def count_attempt(session: Session, address: str | None, *, now: datetime) -> None:
    throttle.count_failure(session, lookup_key(address), now=now, throttling=LOOKUP_THROTTLING)


def clean_matricule(value: str | None, *, field: str = "matricule") -> str:
    """Digits only; the spaces people copy from a letter (« 100 002 ») are dropped, letters are
    refused."""
    return validation.clean_matricule("".join((value or "").split()), field=field)


def clean_certifiers(value: str | None) -> list[str]:
    """The certifiers' matricules: separated by commas, semicolons or lines, each cleaned like a
    matricule, without repeats."""
    items = [item for item in _CERTIFIER_SEPARATORS.split(value or "") if item.strip()]
    if not items:
        raise InvalidField(
            "certifiers",
            "Indiquez le matricule du ou des certificateurs pour lesquels vous déposez.",
        )
    if len(items) > CERTIFIERS_MAX:
        raise InvalidField("certifiers", f"Indiquez au plus {CERTIFIERS_MAX} certificateurs.")
    return list(dict.fromkeys(clean_matricule(item, field="certifiers") for item in items))


def look_up(session: Session, portal: Portal, request: LookupRequest, *, now: datetime) -> Lookup:
    """The structure and certifiers `request` names on `portal`, or the first thing wrong with
    it: bad syntax; one refusal for every pair that is not a structure with this contract on
    this portal (an unknown matricule, a contract of another portal or of nobody: nothing tells
    them apart); unknown certifiers; or R10's existing administrator, named only once matricule
    and contract match on this portal."""
    matricule = clean_matricule(request.matricule)
    number = validation.clean_contract_number(request.contract)
    depositor = request.depositor and portal.code in MANDATE_PORTALS
    if not depositor and request.certifiers.strip() and portal.code in MANDATE_PORTALS:
        raise InvalidField("depositor", NOT_A_DEPOSITOR)
    certifier_matricules = clean_certifiers(request.certifiers) if depositor else []
    structure = structure_with_contracts(session, matricule)
    if structure is None:
        raise UnknownStructure(portal.name)
    contract = structure.contract_for(portal)
    if contract is None or contract.number != number:
        raise ContractMismatch(portal.name)
    certifiers = [_certifier(session, m, structure, portal) for m in certifier_matricules]
    admins = policies.administrators(session, structure, portal, now=now)
    if admins:
        raise AdminAlreadyExists(admins[0].user.full_name)
    return Lookup(portal=portal, structure=structure, certifiers=certifiers)


def attempt_look_up(
    session: Session,
    portal: Portal,
    request: LookupRequest,
    *,
    ip_address: str | None,
    now: datetime,
    step: str = "structure",
) -> Lookup:
    """`look_up`, counted against the address and audited whatever its outcome, in the
    caller's transaction. A refusal is raised once recorded (`HubError.recorded`), so that the
    caller's unit of work commits the count and the audit event rather than undo them."""
    count_attempt(session, ip_address, now=now)
    try:
        found = look_up(session, portal, request, now=now)
    except HubError as refused:
        _audit(
            session, portal, request, None, refused.code, ip_address=ip_address, step=step, now=now
        )
        refused.recorded = True
        raise
    _audit(
        session, portal, request, found.structure, "ok", ip_address=ip_address, step=step, now=now
    )
    return found


def _audit(
    session: Session,
    portal: Portal,
    request: LookupRequest,
    structure: Structure | None,
    outcome: str,
    *,
    ip_address: str | None,
    step: str,
    now: datetime,
) -> None:
    record(
        session,
        actor=ANONYMOUS,
        action="registration.lookup",
        now=now,
        structure=structure,
        portal=portal,
        target=structure,
        after={
            "step": step,
            "matricule": audited_login(request.matricule),
            "contract": audited_login(request.contract),
            "certifiers": audited_login(request.certifiers) if request.depositor else None,
            "ip": ip_address,
            "outcome": outcome,
        },
    )


def record_throttled(
    session: Session, portal: Portal, *, ip_address: str | None, now: datetime
) -> None:
    """Audits an attempt refused by throttling (nothing was looked up; the caller commits)."""
    record(
        session,
        actor=ANONYMOUS,
        action="registration.throttled",
        now=now,
        portal=portal,
        after={"ip": ip_address},
    )


def _certifier(session: Session, matricule: str, depositor: Structure, portal: Portal) -> Structure:
    """A certifier a mandated depositor deposits for: a structure of its own, with a contract
    for the portal (it is on its behalf that files are deposited there)."""
    if matricule == depositor.matricule:
        raise UnknownCertifier(
            "certifiers",
            "Le matricule d'un certificateur doit être différent de celui de votre structure.",
        )
    certifier = structure_with_contracts(session, matricule)
    if certifier is None or certifier.contract_for(portal) is None:
        # One answer for both: the look-up never names a structure the applicant did not
        # prove they belong to, nor says whether a matricule exists.
        raise UnknownCertifier(
            "certifiers", UNKNOWN_CERTIFIER.format(matricule=matricule, portal=portal.name)
        )
    return certifier
