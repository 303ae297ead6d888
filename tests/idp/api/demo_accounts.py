"""The demo data set (DESIGN.md §4) as the administration API tests name it, and reading the
database back the way the tests check what a request changed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts.models import Account
from hub.audit.models import AuditEvent
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.models import User

ALPHA = "100001"  # Organisme Alpha Formation: SOLTÉA and Certificateurs
BETA = "100002"  # Certif Beta: Certificateurs only, nobody there yet
ADMIN = "/api/v1/admin"


def accounts_url(matricule: str = ALPHA, portal: str = "certificateurs") -> str:
    return f"{ADMIN}/structures/{matricule}/portals/{portal}/accounts"


def current(session: Session) -> Session:
    """`session`, its snapshot dropped: what the requests committed since is visible."""
    session.rollback()
    session.expire_all()
    return session


def account_of(session: Session, username: str, portal: str, matricule: str = ALPHA) -> Account:
    account = find_account(session, username, portal, matricule)
    assert account is not None, (username, portal, matricule)
    return account


def find_account(
    session: Session, username: str, portal: str, matricule: str = ALPHA
) -> Account | None:
    return current(session).scalar(
        select(Account)
        .join(Account.user)
        .join(Account.portal)
        .join(Account.structure)
        .where(User.username == username, Portal.code == portal, Structure.matricule == matricule)
    )


def audit_events(session: Session, action: str) -> list[AuditEvent]:
    query = select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)
    return list(current(session).scalars(query))
