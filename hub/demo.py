"""The demo data set of DESIGN.md §4, which `hub demo`, `hub run --demo`, tests and docs use.

Loading is convergent: what is missing is created, what exists is left alone, so loading twice
changes nothing. `reset=True` first removes the demo people and structures to start over.
Dates are relative to `now` (Alice valid 12 more months, Bruno expired 10 days ago on
Certificateurs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.accounts.models import DEFAULT_RIGHTS, Account, Role
from hub.actors import System
from hub.audit.services import record
from hub.clock import add_months
from hub.config import PasswordHashing
from hub.oidc.clients import find_client, register_client
from hub.passwords import hash_password
from hub.portals.models import DelegationRule, Portal
from hub.structures.models import Contract, Structure, StructureKind
from hub.users.models import Civility, User

DEMO_PASSWORD = "Demo-Password-2026!"  # noqa: S105 - published demo credential (DESIGN.md §4)
ACTOR = System("demo")


@dataclass(frozen=True)
class DemoPortal:
    code: str
    name: str
    base_url: str

    @property
    def client_secret(self) -> str:
        return f"{self.code}-dev-secret"


@dataclass(frozen=True)
class DemoStructure:
    matricule: str
    siret: str
    name: str
    kind: StructureKind
    contracts: dict[str, str]


@dataclass(frozen=True)
class DemoAccount:
    matricule: str
    portal: str
    role: Role
    expires_in: timedelta | None = None  # None: R3's full validity from a recent creation
    months_left: int | None = None
    is_first_admin: bool = False
    data_exchange: bool = True


@dataclass(frozen=True)
class DemoPerson:
    username: str
    civility: Civility
    first_name: str
    last_name: str
    email: str
    accounts: tuple[DemoAccount, ...]


PORTALS = (
    DemoPortal("soltea", "SOLTÉA", "http://127.0.0.1:5001"),
    DemoPortal("certificateurs", "Certificateurs", "http://127.0.0.1:5002"),
)
DELEGATIONS = (("soltea", "certificateurs"),)
STRUCTURES = (
    DemoStructure(
        "100001",
        "10000010800017",
        "Organisme Alpha Formation",
        StructureKind.TRAINING_ORGANISATION,
        {"soltea": "SOL-100001", "certificateurs": "CER-100001"},
    ),
    DemoStructure(
        "100002",
        "20000020600017",
        "Certif Beta",
        StructureKind.CERTIFIER,
        {"certificateurs": "CER-100002"},
    ),
    DemoStructure(
        "100003",
        "30000030400018",
        "Gamma Dépôts (tiers de confiance)",
        StructureKind.DEPOSITOR,
        {"certificateurs": "CER-100003"},
    ),
)
PEOPLE = (
    DemoPerson(
        "alice.martin",
        Civility.MRS,
        "Alice",
        "Martin",
        "alice.martin@alpha.example",
        (DemoAccount("100001", "soltea", Role.ADMIN, months_left=12, is_first_admin=True),),
    ),
    DemoPerson(
        "bruno.petit",
        Civility.MR,
        "Bruno",
        "Petit",
        "bruno.petit@alpha.example",
        (
            DemoAccount("100001", "soltea", Role.USER, months_left=15),
            DemoAccount("100001", "certificateurs", Role.USER, expires_in=timedelta(days=-10)),
        ),
    ),
    DemoPerson(
        "chloe.roux",
        Civility.MRS,
        "Chloé",
        "Roux",
        "chloe.roux@alpha.example",
        (DemoAccount("100001", "certificateurs", Role.USER, months_left=17, data_exchange=False),),
    ),
    DemoPerson(
        "emma.leroy",
        Civility.MRS,
        "Emma",
        "Leroy",
        "emma.leroy@alpha.example",
        (DemoAccount("100001", "certificateurs", Role.USER, months_left=16),),
    ),
)


@dataclass
class DemoReport:
    created: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created)


def load_demo(
    session: Session, *, now: datetime, passwords: PasswordHashing, reset: bool = False
) -> DemoReport:
    """Creates whatever part of the demo data set is missing (see the module docstring)."""
    if reset:
        _remove_demo(session)
    report = DemoReport()
    portals = {p.code: _portal(session, p, report, now) for p in PORTALS}
    for spec in PORTALS:
        _client(session, spec, portals[spec.code], report, now)
    for source, target in DELEGATIONS:
        _delegation(session, portals[source], portals[target], report)
    structures = {s.matricule: _structure(session, s, portals, report, now) for s in STRUCTURES}
    password_hash: str | None = None
    for person in PEOPLE:
        user = session.scalar(select(User).filter_by(username=person.username))
        if user is None:
            password_hash = hash_password(DEMO_PASSWORD, passwords)
            user = _person(session, person, password_hash, report, now)
        for spec in person.accounts:
            _account(session, user, spec, structures, portals, report, now)
    session.flush()
    return report


def _remove_demo(session: Session) -> None:
    usernames = [p.username for p in PEOPLE]
    session.execute(delete(User).where(User.username.in_(usernames)))
    session.execute(
        delete(Structure).where(Structure.matricule.in_([s.matricule for s in STRUCTURES]))
    )
    session.expunge_all()


def _portal(session: Session, spec: DemoPortal, report: DemoReport, now: datetime) -> Portal:
    portal = session.scalar(select(Portal).filter_by(code=spec.code))
    if portal is None:
        portal = Portal(code=spec.code, name=spec.name, validity_months=18, base_url=spec.base_url)
        session.add(portal)
        session.flush()
        record(session, actor=ACTOR, action="portal.create", now=now, portal=portal, target=portal)
        report.created.append(f"portail {spec.name}")
    return portal


def _client(
    session: Session, spec: DemoPortal, portal: Portal, report: DemoReport, now: datetime
) -> None:
    """The portal's OIDC client, as DESIGN.md §4 lists it (client id = portal code)."""
    if find_client(session, spec.code) is not None:
        return
    register_client(
        session,
        by=ACTOR,
        now=now,
        client_id=spec.code,
        secret=spec.client_secret,
        portal=portal,
        redirect_uris=[f"{spec.base_url}/auth/callback"],
        post_logout_redirect_uris=[f"{spec.base_url}/"],
        backchannel_logout_uri=f"{spec.base_url}/auth/backchannel-logout",
    )
    report.created.append(f"client OIDC {spec.code}")


def _delegation(session: Session, source: Portal, target: Portal, report: DemoReport) -> None:
    rule = session.scalar(
        select(DelegationRule).filter_by(source_portal_id=source.id, target_portal_id=target.id)
    )
    if rule is None:
        session.add(DelegationRule(source_portal=source, target_portal=target))
        report.created.append(f"délégation {source.code} → {target.code}")


def _structure(
    session: Session,
    spec: DemoStructure,
    portals: dict[str, Portal],
    report: DemoReport,
    now: datetime,
) -> Structure:
    structure = session.scalar(select(Structure).filter_by(matricule=spec.matricule))
    if structure is None:
        structure = Structure(
            matricule=spec.matricule, siret=spec.siret, name=spec.name, kind=spec.kind
        )
        session.add(structure)
        session.flush()
        record(
            session,
            actor=ACTOR,
            action="structure.create",
            now=now,
            structure=structure,
            target=structure,
        )
        report.created.append(f"structure {spec.name}")
    for code, number in spec.contracts.items():
        if structure.contract_for(portals[code]) is None:
            structure.contracts.append(Contract(portal=portals[code], number=number))
            report.created.append(f"contrat {number}")
    session.flush()
    return structure


def _person(
    session: Session, spec: DemoPerson, password_hash: str, report: DemoReport, now: datetime
) -> User:
    user = User(
        username=spec.username,
        email=spec.email,
        civility=spec.civility,
        first_name=spec.first_name,
        last_name=spec.last_name,
        password_hash=password_hash,
        email_verified=True,
        created_at=now,
    )
    session.add(user)
    session.flush()
    record(session, actor=ACTOR, action="user.create", now=now, target=user)
    report.created.append(f"personne {spec.username}")
    return user


def _account(
    session: Session,
    user: User,
    spec: DemoAccount,
    structures: dict[str, Structure],
    portals: dict[str, Portal],
    report: DemoReport,
    now: datetime,
) -> None:
    structure, portal = structures[spec.matricule], portals[spec.portal]
    exists = session.scalar(
        select(Account.id).filter_by(
            user_id=user.id, structure_id=structure.id, portal_id=portal.id
        )
    )
    if exists is not None:
        return
    if spec.expires_in is not None:
        expires_at = now + spec.expires_in
    else:
        expires_at = add_months(now, spec.months_left or portal.validity_months)
    account = Account(
        user=user,
        structure=structure,
        portal=portal,
        role=spec.role,
        is_first_admin=spec.is_first_admin,
        rights=DEFAULT_RIGHTS if spec.data_exchange else frozenset(),
        created_at=add_months(expires_at, -portal.validity_months),
        expires_at=expires_at,
    )
    session.add(account)
    session.flush()
    record(
        session,
        actor=ACTOR,
        action="account.create",
        now=now,
        structure=structure,
        portal=portal,
        target=account,
        after=account.snapshot(),
    )
    report.created.append(f"compte {user.username} ({structure.name}, {portal.name})")
