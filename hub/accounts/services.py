"""The state-changing actions on portal accounts (R2, R3, R4, R6, R7) and the invariant that a
structure active on a portal keeps at least one administrator (R11 covers the rest).

Each action checks the actor's right first, once (`reach.authorise`: from a portal's
« Administration », `from_portal`, what is out of reach is « not found »), changes the account,
and writes its audit event in the same transaction; none commits. Actions that may remove an
administrator run inside a SAVEPOINT and under a lock on the structure, so that two concurrent
demotions of the last two admins cannot both succeed and a refused change leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import exists, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hub.accounts import policies, reach
from hub.accounts.mails import account_created, account_renewed_row
from hub.accounts.models import DEFAULT_RIGHTS, Account, RenewalReceipt, Right, Role
from hub.actors import Actor
from hub.audit.services import event_row, record, record_rows
from hub.clock import add_months
from hub.database import lock_row, lock_rows
from hub.errors import AlreadyExists, InvalidField, LastAdministrator, NoContract
from hub.mail import outbox
from hub.portals.models import DelegationRule, Portal
from hub.structures.models import Structure
from hub.users.models import User

IDEMPOTENCY_KEY_MAX = 100


def open_account(
    session: Session,
    *,
    by: Actor,
    user: User,
    structure: Structure,
    portal: Portal,
    now: datetime,
    role: Role = Role.USER,
    rights: Iterable[Right] = DEFAULT_RIGHTS,
    is_first_admin: bool = False,
    notify: bool = True,
) -> Account:
    """R2, R3: a new account valid for the portal's validity period from `now`. The holder is
    told by mail (`notify`), queued in the same transaction."""
    reach.authorise(session, by, structure, portal, now=now, action="account.create")
    if structure.contract_for(portal) is None:
        raise NoContract()
    try:
        # Built inside the savepoint: the savepoint's flush must not meet a half-attached account.
        with session.begin_nested():
            account = Account(
                user=user,
                structure=structure,
                portal=portal,
                role=role,
                rights=frozenset(rights),
                is_first_admin=is_first_admin,
                created_at=now,
                expires_at=add_months(now, portal.validity_months),
            )
            session.add(account)
    except IntegrityError as error:
        raise AlreadyExists(
            "Cette personne a déjà un compte pour cette structure sur ce portail."
        ) from error
    _audit(session, by, "account.create", account, now=now, after=account.snapshot())
    if notify:
        account_created(session, account, now=now)
    return account


def renew(
    session: Session,
    account: Account,
    *,
    by: Actor,
    now: datetime,
    key: str | None = None,
    notify: bool = True,
    from_portal: Portal | None = None,
) -> Account:
    """R4 for one account; see `renew_many`."""
    renew_many(session, [account], by=by, now=now, key=key, notify=notify, from_portal=from_portal)
    return account


def renew_many(
    session: Session,
    accounts: Sequence[Account],
    *,
    by: Actor,
    now: datetime,
    key: str | None = None,
    notify: bool = True,
    from_portal: Portal | None = None,
) -> list[Account]:
    """R4: `expires_at = max(now, expires_at) + validity`, even after expiry; renewals stack.

    The rows are locked and re-read first, so that two admins renewing at the same moment both
    count. A repeated idempotency `key` (a resubmitted form) renews, and mails, only once per
    account. A selection is refused whole if one account is outside the actor's rights. Work is
    done in a few statements whatever the selection's size (« Renouveler la sélection »).
    """
    if key is not None and not 0 < len(key) <= IDEMPOTENCY_KEY_MAX:
        raise InvalidField("idempotency_key", "Clé d'idempotence invalide.")
    _authorise(session, by, accounts, now=now, action="account.renew", from_portal=from_portal)
    ids = [account.id for account in accounts]
    lock_rows(session, Account.__table__, ids)
    current = _reread(session, ids)
    done = _already_renewed(session, ids, key) if key is not None else set()
    renewed = [account for account in current if account.id not in done]
    receipts, events, mails = [], [], []
    for account in renewed:
        before = account.snapshot()
        account.expires_at = add_months(
            max(now, account.expires_at), account.portal.validity_months
        )
        if key is not None:
            receipts.append(
                {
                    "account_id": account.id,
                    "idempotency_key": key,
                    "expires_at": account.expires_at,
                    "created_at": now,
                }
            )
        events.append(_event(by, "account.renew", account, now=now, before=before))
        if notify:
            mails.append(account_renewed_row(account, now=now))
    # One statement per table, whatever the selection's size (ORM inserts would cost one each
    # on SQLite, which cannot return generated ids in bulk).
    session.flush()
    if receipts:
        session.execute(insert(RenewalReceipt), receipts)
    record_rows(session, events)
    outbox.queue_rows(session, mails)
    return current


def _reread(session: Session, ids: Sequence[int]) -> list[Account]:
    """The accounts as committed now (under lock), in the caller's order."""
    rows = session.scalars(
        select(Account).where(Account.id.in_(ids)).execution_options(populate_existing=True)
    ).all()
    by_id = {account.id: account for account in rows}
    return [by_id[account_id] for account_id in dict.fromkeys(ids) if account_id in by_id]


def _already_renewed(session: Session, ids: Sequence[int], key: str) -> set[int]:
    return set(
        session.scalars(
            select(RenewalReceipt.account_id).where(
                RenewalReceipt.account_id.in_(ids), RenewalReceipt.idempotency_key == key
            )
        )
    )


def change_role(
    session: Session,
    account: Account,
    role: Role,
    *,
    by: Actor,
    now: datetime,
    from_portal: Portal | None = None,
) -> Account:
    """R2: promote to admin or demote to user; a demotion must leave an administrator."""
    action = "account.promote" if role is Role.ADMIN else "account.demote"
    _authorise(session, by, [account], now=now, action=action, from_portal=from_portal)
    if account.role is role:
        return account
    before = account.snapshot()
    with _keeping_an_administrator(session, account, now=now):
        account.role = role
    _audit(session, by, action, account, now=now, before=before, after=account.snapshot())
    return account


def set_right(
    session: Session,
    account: Account,
    right: Right,
    granted: bool,
    *,
    by: Actor,
    now: datetime,
    from_portal: Portal | None = None,
) -> Account:
    """R7: withdraw or give back a right (`data_exchange`)."""
    action = "account.right_restore" if granted else "account.right_withdraw"
    _authorise(session, by, [account], now=now, action=action, from_portal=from_portal)
    if account.has_right(right) == granted:
        return account
    before = account.snapshot()
    account.rights = account.rights | {right} if granted else account.rights - {right}
    _audit(session, by, action, account, now=now, before=before, after=account.snapshot())
    return account


def delete_account(
    session: Session,
    account: Account,
    *,
    by: Actor,
    now: datetime,
    from_portal: Portal | None = None,
) -> None:
    """R2, R6: an admin deletes an account of their structure; anyone deletes their own from
    their own pages (in an « Administration », `from_portal`, it is checked like any other).
    The last administrator of a structure still active on the portal cannot be deleted."""
    own = isinstance(by, User) and by.id == account.user_id
    if from_portal is not None or not own:
        _authorise(
            session, by, [account], now=now, action="account.delete", from_portal=from_portal
        )
    before = account.snapshot()
    with _keeping_an_administrator(session, account, now=now):
        session.delete(account)
    _audit(session, by, "account.delete", account, now=now, before=before)


def _authorise(
    session: Session,
    by: Actor,
    accounts: Iterable[Account],
    *,
    now: datetime,
    action: str,
    from_portal: Portal | None,
) -> None:
    """The action's one check: once per (structure, portal) of the accounts, not per account."""
    checked: set[tuple[int, int]] = set()
    for account in accounts:
        pair = (account.structure_id, account.portal_id)
        if pair not in checked:
            reach.authorise(
                session,
                by,
                account.structure,
                account.portal,
                now=now,
                action=action,
                target=account,
                from_portal=from_portal,
            )
            checked.add(pair)


def _event(
    by: Actor,
    action: str,
    account: Account,
    *,
    now: datetime,
    before: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return event_row(
        actor=by,
        action=action,
        now=now,
        structure=account.structure,
        portal=account.portal,
        target=account,
        before=before,
        after=account.snapshot(),
    )


def _audit(
    session: Session,
    by: Actor,
    action: str,
    account: Account,
    *,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    record(
        session,
        actor=by,
        action=action,
        now=now,
        structure=account.structure,
        portal=account.portal,
        target=account,
        before=before,
        after=after,
    )


@contextmanager
def _keeping_an_administrator(
    session: Session, account: Account, *, now: datetime
) -> Iterator[None]:
    """Applies the change made in the `with` block inside a SAVEPOINT, under the structure's lock,
    then checks that every portal it can affect (the account's own and those it delegates to)
    still has an effective administrator wherever the structure has accounts. Otherwise the
    change is rolled back and `LastAdministrator` raised."""
    lock_row(session, Structure.__table__, account.structure_id)
    session.refresh(account)
    affected = _affected_portals(session, account)
    structure = account.structure
    savepoint = session.begin_nested()
    try:
        yield
        session.flush()
        orphaned = [
            portal
            for portal in affected
            if _is_active(session, structure, portal)
            and not policies.administrators(session, structure, portal, now=now)
        ]
    except BaseException:
        savepoint.rollback()
        raise
    if orphaned:
        savepoint.rollback()
        raise LastAdministrator()
    savepoint.commit()


def _affected_portals(session: Session, account: Account) -> list[Portal]:
    targets = session.scalars(
        select(DelegationRule).where(DelegationRule.source_portal_id == account.portal_id)
    ).all()
    return [account.portal, *(rule.target_portal for rule in targets)]


def _is_active(session: Session, structure: Structure, portal: Portal) -> bool:
    """A structure is active on a portal while it has accounts there, expired ones included."""
    return bool(
        session.scalar(
            select(
                exists().where(Account.structure_id == structure.id, Account.portal_id == portal.id)
            )
        )
    )
