"""« Changer d'administrateur » (R11): anyone may ask the support to name a new administrator of a
structure on a portal, with what the guide lists — the structure's matricule, contract number
and SIRET, the new administrator's e-mail, civilité, nom, prénom, service and phones — plus the
portal concerned and a comment.

Filing checks the form and nothing else: the answer is the same whether the structure, the
contract or the SIRET exist, so that the page is no oracle on the referential (issue 12 §2).
An operator checks them against the referential, in the support console. The receipt is
mailed to the only address of the form, the new administrator's.

Filing is bounded three ways, none of which depends on the structure existing:
- per address, every attempt counts, filed or to correct (`ADDRESS_THROTTLING`);
- per matricule as typed, every filed request counts (`MATRICULE_THROTTLING`);
- open requests (new, in progress) per matricule as typed: at most `OPEN_REQUESTS_MAX`.
Every attempt is audited with its outcome; refusals are raised once recorded (`HubError.recorded`)
so that the caller's unit of work commits their count and audit event, and nothing else.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import throttle, validation
from hub.actors import ANONYMOUS
from hub.audit.services import audited_login, record
from hub.config import Throttling
from hub.errors import (
    ConcurrentChange,
    InvalidField,
    RequestInvalid,
    TooManyAdminChangeRequests,
    TooManyOpenRequests,
)
from hub.portals.models import Portal
from hub.registration.lookup import clean_matricule
from hub.structures.queries import structure_with_contracts
from hub.support import mails
from hub.support.models import OPEN_STATUSES, AdminChangeRequest
from hub.users.services import clean_civility

ADDRESS_PREFIX = "admin-change-ip:"
MATRICULE_PREFIX = "admin-change-matricule:"
# Ten attempts an hour from one address, forms to correct included: enough to file a request or
# two after a few typos, too few to mail strangers at will (each request mails its address).
ADDRESS_THROTTLING = Throttling(
    window_minutes=60, delay_after=10, user_lock_after=10, ip_lock_after=10, lock_minutes=60
)
# Five requests a day for one matricule, from anywhere.
MATRICULE_THROTTLING = Throttling(
    window_minutes=24 * 60, delay_after=5, user_lock_after=5, ip_lock_after=5, lock_minutes=24 * 60
)
OPEN_REQUESTS_MAX = 3
COMMENT_MAX = 2000
PORTAL_CODE_MAX = 32
NUMBER_PREFIX = "DA-"
NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read over the phone
NUMBER_LENGTH = 8
NUMBER_ATTEMPTS = 5

PORTAL_MISSING = "Choisissez le portail sur lequel un nouvel administrateur doit être désigné."
CIVILITY_MISSING = "Indiquez la civilité du nouvel administrateur."
PHONE_MISSING = (
    "Indiquez au moins un numéro de téléphone du nouvel administrateur : portable ou fixe."
)


@dataclass(frozen=True)
class RequestForm:
    """What the requester typed, as typed."""

    portal: str = ""
    matricule: str = ""
    contract: str = ""
    siret: str = ""
    email: str = ""
    civility: str = ""
    last_name: str = ""
    first_name: str = ""
    service: str = ""
    mobile_phone: str = ""
    landline_phone: str = ""
    comment: str = ""


def address_key(address: str | None) -> str:
    return ADDRESS_PREFIX + (address or "unknown")[:45]


def matricule_key(matricule: str) -> str:
    return MATRICULE_PREFIX + matricule


def file_request(
    session: Session, form: RequestForm, *, ip_address: str | None, now: datetime
) -> AdminChangeRequest:
    """R11: keeps the request, mails its receipt to the new administrator and audits it, in the
    caller's transaction; returns the request, whose `number` the requester is shown.

    Raises, recorded: `TooManyAdminChangeRequests` (throttled), `RequestInvalid` (every field
    to correct), `TooManyOpenRequests` (the matricule's open requests are at the cap)."""
    typed_matricule = _matricule_or_none(form.matricule)
    _refuse_if_throttled(session, form, typed_matricule, ip_address=ip_address, now=now)
    throttle.count_failure(session, address_key(ip_address), now=now, throttling=ADDRESS_THROTTLING)
    values, errors = clean_form(session, form)
    if errors:
        _audit_refusal(
            session, form, now=now, ip=ip_address, reason=RequestInvalid.code, fields=sorted(errors)
        )
        raise RequestInvalid(errors).as_recorded()
    if _open_requests(session, values["matricule"]) >= OPEN_REQUESTS_MAX:
        _audit_refusal(session, form, now=now, ip=ip_address, reason=TooManyOpenRequests.code)
        raise TooManyOpenRequests().as_recorded()
    throttle.count_failure(
        session, matricule_key(values["matricule"]), now=now, throttling=MATRICULE_THROTTLING
    )
    filed = _store(session, values, ip_address=ip_address, now=now)
    mails.request_filed(session, filed, now=now)
    record(
        session,
        actor=ANONYMOUS,
        action="support.request_filed",
        now=now,
        structure=structure_with_contracts(session, filed.matricule),  # for the log only
        portal=filed.portal,
        target=filed,
        after={"ip": ip_address, "number": filed.number},
    )
    return filed


def clean_form(session: Session, form: RequestForm) -> tuple[dict[str, Any], dict[str, str]]:
    """(the cleaned values, the errors by field): every field is checked, so that the form
    shows all its errors at once."""
    cleaners = {
        "portal": lambda v: _portal(session, v),
        "matricule": clean_matricule,
        "contract": validation.clean_contract_number,
        "siret": validation.clean_siret,
        "email": validation.clean_email,
        "civility": _civility,
        "last_name": lambda v: validation.clean_name(v, field="last_name", label="Nom"),
        "first_name": lambda v: validation.clean_name(v, field="first_name", label="Prénom"),
        "service": lambda v: validation.clean_optional_text(
            v, field="service", label="Service", max_length=validation.SERVICE_MAX
        ),
        "mobile_phone": lambda v: validation.clean_french_phone(
            v, field="mobile_phone", mobile=True
        ),
        "landline_phone": lambda v: validation.clean_french_phone(
            v, field="landline_phone", mobile=False
        ),
        "comment": lambda v: validation.clean_free_text(
            v, field="comment", label="Commentaire", max_length=COMMENT_MAX
        ),
    }
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, clean in cleaners.items():
        try:
            values[name] = clean(getattr(form, name))
        except InvalidField as error:
            errors[name] = error.message
    phones = ("mobile_phone", "landline_phone")
    if not any(values.get(name) for name in phones) and not any(p in errors for p in phones):
        errors["mobile_phone"] = PHONE_MISSING
    return values, errors


def _portal(session: Session, code: str | None) -> Portal:
    code = (code or "").strip()
    portal = None
    if code and len(code) <= PORTAL_CODE_MAX and code.isprintable():
        portal = session.scalar(select(Portal).where(Portal.code == code))
    if portal is None:
        raise InvalidField("portal", PORTAL_MISSING)
    return portal


def _civility(value: str | None) -> Any:
    civility = clean_civility(value)
    if civility is None:
        raise InvalidField("civility", CIVILITY_MISSING)
    return civility


def _matricule_or_none(value: str) -> str | None:
    try:
        return clean_matricule(value)
    except InvalidField:
        return None


def _refuse_if_throttled(
    session: Session,
    form: RequestForm,
    matricule: str | None,
    *,
    ip_address: str | None,
    now: datetime,
) -> None:
    keys = [address_key(ip_address)] + ([matricule_key(matricule)] if matricule else [])
    until = throttle.refused_until(session, keys, now=now)
    if until is None:
        return
    _audit_refusal(session, form, now=now, ip=ip_address, reason=TooManyAdminChangeRequests.code)
    raise TooManyAdminChangeRequests(until).as_recorded()


def _open_requests(session: Session, matricule: str) -> int:
    query = select(func.count(AdminChangeRequest.id)).where(
        AdminChangeRequest.matricule == matricule,
        AdminChangeRequest.status.in_(OPEN_STATUSES),
    )
    return session.scalar(query) or 0


def _store(
    session: Session, values: dict[str, Any], *, ip_address: str | None, now: datetime
) -> AdminChangeRequest:
    """The request under a fresh random number; a number already taken (one chance in 32⁸ per
    request on file) is drawn again."""
    for _ in range(NUMBER_ATTEMPTS):
        filed = AdminChangeRequest(
            number=new_number(), ip_address=ip_address, created_at=now, updated_at=now, **values
        )
        try:
            with session.begin_nested():
                session.add(filed)
        except IntegrityError:
            continue
        return filed
    raise ConcurrentChange()


def new_number() -> str:
    """« DA-7K3QH9XM »: random, so that it tells nobody how many requests there are and
    names no other request."""
    return NUMBER_PREFIX + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(NUMBER_LENGTH))


def _audit_refusal(
    session: Session, form: RequestForm, *, now: datetime, ip: str | None, **details: Any
) -> None:
    """A refused attempt, with the matricule as typed (cut short like any audited input)."""
    record(
        session,
        actor=ANONYMOUS,
        action="support.request_refused",
        now=now,
        after={"ip": ip, "matricule": audited_login(form.matricule), **details},
    )
