"""Steps 2 and 3 of registration (R12), and the link between them and step 4.

Step 2 keeps the applicant's details and CGU acceptance in a `Registration`, and step 3 mails
its validation link (signed, expiring after `LINK_LIFETIME`, single-use). Nothing else exists
until the link is followed (`hub.registration.completion`). Every attempt, accepted or
refused, is audited with its outcome.

Step 2 answers the same whatever the address (issue 12 §2): an address the hub knows is not
refused — that would tell anyone who holds it — but receives a mail of its own, naming its
holder's identifiant and how to add the account to it (sign in, or « Mot de passe oublié ? »)
instead of creating a second identity. A step token is good for one mail: sent again, it is
refused, so that it cannot be replayed to try address after address.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub import validation
from hub.actors import ANONYMOUS
from hub.audit.services import record
from hub.errors import (
    ApplicantInvalid,
    HubError,
    InvalidField,
    LinkRefused,
    RegistrationClosed,
    RegistrationExpired,
    StepAlreadySent,
    TermsNotAccepted,
)
from hub.portals.models import Portal
from hub.registration import lookup as lookups
from hub.registration import mails
from hub.registration.models import Registration, RegistrationStatus
from hub.single_use_links import LinkProblem, SingleUseLinks, new_nonce
from hub.structures.models import Structure
from hub.users.models import User
from hub.users.services import CONTACT_FIELDS, clean_contact_details

LINK_LIFETIME = timedelta(hours=24)
LINK_PATH = "/register/confirm/"
CIVILITY_MISSING = "Indiquez votre civilité."
INVALID = (
    "Ce lien de validation n'est pas valable : il est incomplet ou a été modifié. Copiez "
    "l'adresse complète depuis le courriel reçu, ou recommencez votre inscription."
)
LINK_MESSAGES = {
    LinkProblem.INVALID: INVALID,
    LinkProblem.EXPIRED: RegistrationExpired.message,
    LinkProblem.USED: RegistrationClosed.message,
}


def links(secret_key: str, public_url: str) -> SingleUseLinks:
    return SingleUseLinks(secret_key, public_url, LINK_PATH, "hub.registration.link")


def clean_applicant(
    details: Mapping[str, str | None], *, terms_accepted: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Step 2: (the cleaned details, the errors by field). Every field is checked, so that the
    form shows all its errors at once."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in CONTACT_FIELDS:
        try:
            values.update(clean_contact_details({name: details.get(name)}))
        except InvalidField as error:
            errors[error.field] = error.message
    if "civility" not in errors and values.get("civility") is None:
        errors["civility"] = CIVILITY_MISSING
    try:
        values["email"] = validation.clean_email(details.get("email"))
    except InvalidField as error:
        errors["email"] = error.message
    if not terms_accepted:
        errors["terms"] = TermsNotAccepted().message
    return values, errors


@dataclass(frozen=True)
class RequestSent:
    """Step 2's answer: the registration whose validation link was mailed, and the structure
    it is for (step 1's checks, made again)."""

    registration: Registration
    lookup: lookups.Lookup


def attempt_request(
    session: Session,
    portal: Portal,
    request: lookups.LookupRequest,
    details: Mapping[str, str | None],
    *,
    terms_accepted: bool,
    terms_version: str,
    next_path: str | None,
    step_nonce: str,
    ip_address: str | None,
    now: datetime,
    links: SingleUseLinks,
) -> RequestSent:
    """Steps 2 and 3: checks the structure again (counted and audited like step 1) and the
    details, then keeps the registration and mails its link, in the caller's transaction.

    Refusals are raised once recorded (`HubError.recorded`: the caller's unit of work commits
    their audit event with the look-up's count): the structure's, as at step 1;
    `ApplicantInvalid`, every field to correct; `StepAlreadySent` when the step token
    (`step_nonce`) already mailed."""
    if _step_used(session, step_nonce):
        raise _step_refused(session, portal, ip_address=ip_address, now=now)
    found = lookups.attempt_look_up(
        session, portal, request, ip_address=ip_address, now=now, step="person"
    )
    values, errors = clean_applicant(details, terms_accepted=terms_accepted)
    if errors:
        audit_attempt(
            session,
            "registration.request_refused",
            found.structure,
            portal,
            now=now,
            ip=ip_address,
            fields=sorted(errors),
        )
        raise ApplicantInvalid(errors, lookup=found).as_recorded()
    registration = Registration(
        nonce=new_nonce(),
        step_nonce=step_nonce,
        portal=portal,
        structure=found.structure,
        certifier_matricules=found.certifier_matricules,
        terms_version=terms_version,
        terms_accepted_at=now,
        next_path=next_path,
        ip_address=ip_address,
        created_at=now,
        expires_at=now + LINK_LIFETIME,
        **values,
    )
    try:
        with session.begin_nested():  # the same token sent twice at once: one of them mails
            session.add(registration)
    except IntegrityError as error:
        raise _step_refused(session, portal, ip_address=ip_address, now=now) from error
    url = links.url(registration.id, registration.nonce, expires_at=registration.expires_at)
    mails.validation_link(
        session, registration, url=url, holder=holder_of(session, registration.email)
    )
    audit_attempt(
        session,
        "registration.request",
        found.structure,
        portal,
        now=now,
        ip=ip_address,
        registration=registration.id,
        email=registration.email,
        certifiers=registration.certifier_matricules,
        terms_version=terms_version,
    )
    return RequestSent(registration=registration, lookup=found)


def _step_refused(
    session: Session, portal: Portal, *, ip_address: str | None, now: datetime
) -> HubError:
    """`StepAlreadySent`, audited and recorded."""
    refused = StepAlreadySent()
    audit_attempt(
        session,
        "registration.request_refused",
        None,
        portal,
        now=now,
        ip=ip_address,
        reason=refused.code,
    )
    return refused.as_recorded()


def _step_used(session: Session, step_nonce: str) -> bool:
    used = select(Registration.id).where(Registration.step_nonce == step_nonce)
    return session.scalar(used) is not None


def holder_of(session: Session, email: str) -> User | None:
    """The person the hub knows by this address, if any: their registration adds an account
    to their identity instead of creating another."""
    return session.scalar(select(User).where(User.email == email))


def open_link(
    session: Session, links: SingleUseLinks, token: str, *, now: datetime
) -> Registration:
    """The pending registration a validation link names; `LinkRefused` when it opens nothing,
    carrying the registration when one was found."""
    found = links.find(session, Registration, token)
    if found is None:
        raise _refused(LinkProblem.INVALID)
    reference, registration = found
    if registration.status is RegistrationStatus.COMPLETED:
        raise _refused(LinkProblem.USED, registration)
    if reference.is_expired(now) or registration.is_expired(now):
        raise _refused(LinkProblem.EXPIRED, registration)
    return registration


def _refused(
    problem: LinkProblem, registration: Registration | None = None
) -> LinkRefused[Registration]:
    return LinkRefused(problem, LINK_MESSAGES[problem], request=registration)


def record_refused_link(
    session: Session,
    refused: LinkRefused[Registration],
    *,
    ip_address: str | None,
    now: datetime,
    step: str,
) -> None:
    """Audits a link that opened nothing, or a step-4 form refused (the caller commits)."""
    registration = refused.request
    audit_attempt(
        session,
        "registration.link_refused",
        registration.structure if registration else None,
        registration.portal if registration else None,
        now=now,
        ip=ip_address,
        registration=registration.id if registration else None,
        reason=refused.problem.value,
        step=step,
    )


def audit_attempt(
    session: Session,
    action: str,
    structure: Structure | None,
    portal: Portal | None,
    *,
    now: datetime,
    **after: Any,
) -> None:
    """One registration attempt in the audit log, by nobody signed in, with `after` as its
    details (address, outcome…); the caller commits."""
    record(
        session,
        actor=ANONYMOUS,
        action=action,
        now=now,
        structure=structure,
        portal=portal,
        target=structure,
        after=after,
    )
