"""Step 4 of registration (R1, R10, R12): the validation link followed and a password chosen,
one transaction creates the person (e-mail verified), their account on the portal as the
structure's first administrator (R1) and the mandates of a mandated depositor — under a lock on
the structure, after checking R10 again: of two people registering one structure at the same
moment, exactly one becomes its administrator and the other is told who.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts import policies
from hub.accounts.models import Account, Role
from hub.accounts.services import open_account
from hub.actors import System
from hub.audit.services import record, refusal
from hub.database import lock_row
from hub.errors import (
    AdminAlreadyExists,
    AlreadyExists,
    ConcurrentChange,
    EmailTaken,
    NoContract,
    NotFound,
    RegistrationClosed,
    RegistrationExpired,
    UnknownCertifier,
)
from hub.portals.models import Portal
from hub.registration import mails
from hub.registration.models import Registration, RegistrationStatus, TermsAcceptance
from hub.registration.services import audit_attempt
from hub.structures.models import Contract, Mandate, Structure
from hub.users.models import User
from hub.users.services import create_user

REGISTRATION = System("inscription")  # the actor of what a completed registration creates


def record_refused_completion(
    session: Session,
    registration: Registration,
    reason: str,
    *,
    ip_address: str | None,
    now: datetime,
) -> None:
    """Audits a step-4 form refused before any change (weak password, …); the caller commits."""
    audit_attempt(
        session,
        "registration.complete_refused",
        registration.structure,
        registration.portal,
        now=now,
        ip=ip_address,
        registration=registration.id,
        reason=reason,
    )


def administrator_named(
    session: Session, registration: Registration, *, now: datetime
) -> str | None:
    """R10 at the door of step 4: the administrator the structure has gained since step 1."""
    admins = policies.administrators(session, registration.structure, registration.portal, now=now)
    return admins[0].user.full_name if admins else None


@dataclass(frozen=True)
class Completion:
    user: User
    account: Account
    certifiers: list[Structure]
    next_path: str | None


def complete(
    session: Session,
    registration_id: int,
    *,
    structure_id: int,
    now: datetime,
    password_hash: str | None = None,
    holder: User | None = None,
) -> Completion:
    """Step 4 (R1, R12): creates the person, their first-admin account and the mandates, in the
    caller's transaction (not committed). Must be the transaction's first statement: the
    structure's row is locked first, so that two completions for one structure run one after
    the other and the second sees the first's administrator (R10).

    The person is new (`password_hash`: the one they chose), or `holder`, the person the hub
    already knows by the registration's address, signed in: the account joins their identity
    (R14: one identity, never a second for one mailbox)."""
    lock_row(session, Structure.__table__, structure_id)
    registration = session.scalar(
        select(Registration)
        .where(Registration.id == registration_id)
        .execution_options(populate_existing=True)
    )
    if registration is None:
        raise NotFound()
    if registration.status is not RegistrationStatus.PENDING:
        raise RegistrationClosed()
    if registration.is_expired(now):
        raise RegistrationExpired()
    structure, portal = registration.structure, registration.portal
    contract = select(Contract.id).filter_by(structure_id=structure.id, portal_id=portal.id)
    if session.scalar(contract) is None:  # withdrawn since step 1
        raise NoContract()
    name = administrator_named(session, registration, now=now)
    if name is not None:
        attempt = refusal(REGISTRATION, "registration.complete", structure=structure, portal=portal)
        raise AdminAlreadyExists(name, attempt=attempt.attempt)
    certifiers = [_certifier(session, m, portal) for m in registration.certifier_matricules]
    if holder is not None:
        if holder.email != registration.email:
            raise refusal(holder, "registration.complete", structure=structure, portal=portal)
        user = holder
    else:
        assert password_hash is not None, "a new person completes with the password they chose"
        user = _create_person(session, registration, password_hash, now=now)
    _accept_terms(session, user, registration)
    account = open_account(
        session,
        by=REGISTRATION,
        user=user,
        structure=structure,
        portal=portal,
        now=now,
        role=Role.ADMIN,
        is_first_admin=True,
        notify=False,
    )
    for certifier in certifiers:
        _mandate(session, structure, certifier, portal, now=now)
    registration.status = RegistrationStatus.COMPLETED
    registration.closed_at = now
    registration.user_id = user.id
    mails.registration_completed(session, account, certifiers, now=now)
    record(
        session,
        actor=user,
        action="registration.complete",
        now=now,
        structure=structure,
        portal=portal,
        target=account,
        after={
            "registration": registration.id,
            "username": user.username,
            "certifiers": registration.certifier_matricules,
        },
    )
    return Completion(user, account, certifiers, registration.next_path)


def _certifier(session: Session, matricule: str, portal: Portal) -> Structure:
    certifier = session.scalar(select(Structure).where(Structure.matricule == matricule))
    if certifier is None or certifier.contract_for(portal) is None:
        raise UnknownCertifier(
            "certifiers",
            f"Le certificateur de matricule {matricule} n'est plus connu sur {portal.name}. "
            "Recommencez votre inscription ; rien n'a été créé.",
        )
    return certifier


def _create_person(
    session: Session, registration: Registration, password_hash: str, *, now: datetime
) -> User:
    """The person, e-mail verified (the link reached that mailbox), with the CGU they accepted."""
    try:
        user = create_user(
            session,
            by=REGISTRATION,
            email=registration.email,
            first_name=registration.first_name,
            last_name=registration.last_name,
            now=now,
            email_verified=True,
            civility=registration.civility,
            service=registration.service,
            mobile_phone=registration.mobile_phone,
            landline_phone=registration.landline_phone,
        )
    except AlreadyExists as error:
        if session.scalar(select(User.id).where(User.email == registration.email)) is not None:
            raise EmailTaken() from error
        # The identifiant derived from the name was taken at this very moment: starting over
        # derives the next free one.
        raise ConcurrentChange() from error
    user.password_hash = password_hash
    return user


def _accept_terms(session: Session, user: User, registration: Registration) -> None:
    """The CGU version accepted at step 2, kept once per person and version."""
    accepted = select(TermsAcceptance.id).filter_by(
        user_id=user.id, version=registration.terms_version
    )
    if session.scalar(accepted) is None:
        session.add(
            TermsAcceptance(
                user_id=user.id,
                version=registration.terms_version,
                accepted_at=registration.terms_accepted_at,
            )
        )


def _mandate(
    session: Session, depositor: Structure, certifier: Structure, portal: Portal, *, now: datetime
) -> None:
    """A mandated depositor's mandate for `certifier`, recorded once and audited on both sides;
    the certifier's administrators on the portal are told, so that a mandate they never gave
    does not go unnoticed."""
    exists = session.scalar(
        select(Mandate.id).where(
            Mandate.depositor_id == depositor.id, Mandate.certifier_id == certifier.id
        )
    )
    if exists is not None:
        return
    session.add(Mandate(depositor=depositor, certifier=certifier, created_at=now))
    after = {"depositor": depositor.matricule, "certifier": certifier.matricule}
    for structure, other in ((depositor, certifier), (certifier, depositor)):
        record(
            session,
            actor=REGISTRATION,
            action="mandate.create",
            now=now,
            structure=structure,
            portal=portal,
            target=other,
            after=after,
        )
    for admin in policies.administrators(session, certifier, portal, now=now):
        mails.mandate_declared(session, admin.user, depositor, certifier, portal, now=now)
