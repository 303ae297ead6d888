"""R3 (creation and validity) and R4 (renewal: stacking, after expiry, idempotency)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hub.accounts.models import Account, RenewalReceipt, Role
from hub.accounts.services import open_account, renew
from hub.actors import System
from hub.audit.models import AuditEvent
from hub.clock import paris_date
from hub.errors import AlreadyExists, InvalidField, NoContract
from hub.mail.models import OutboxMessage
from hub.transactions import retrying, unit_of_work
from tests.factories import make_account, make_portal, make_structure, make_user

SUPPORT = System("support")


@pytest.fixture
def alpha(session, soltea):
    return make_structure(session, portals=(soltea,), name="Organisme Alpha Formation")


def test_r3_a_new_account_is_valid_for_the_portals_validity(session, soltea, alpha, now):
    account = open_account(
        session, by=SUPPORT, user=make_user(session), structure=alpha, portal=soltea, now=now
    )

    assert account.created_at == now
    assert paris_date(account.expires_at) == "23/05/2028"  # 23/11/2026 + 18 months
    assert not account.is_expired(now)
    assert account.is_expired(account.expires_at)


def test_r3_validity_follows_the_portal_setting(session, alpha, now):
    short = make_portal(session, "courte", validity_months=6)
    alpha.contracts.append(type(alpha.contracts[0])(portal=short, number="COU-1"))
    session.flush()

    account = open_account(
        session, by=SUPPORT, user=make_user(session), structure=alpha, portal=short, now=now
    )

    assert paris_date(account.expires_at) == "23/05/2027"


def test_r3_month_arithmetic_happens_on_the_paris_calendar(session, soltea, alpha):
    # 31/08/2026 00:30 in Paris is still 30/08 in UTC; the person expects « 28/02/2028 ».
    created = datetime(2026, 8, 30, 22, 30, tzinfo=UTC)
    account = open_account(
        session, by=SUPPORT, user=make_user(session), structure=alpha, portal=soltea, now=created
    )

    assert paris_date(account.expires_at) == "29/02/2028"


def test_an_account_needs_a_contract_for_the_portal(session, soltea, now):
    certificateurs = make_portal(session, "certificateurs")
    structure = make_structure(session, portals=(soltea,))

    with pytest.raises(NoContract):
        open_account(
            session,
            by=SUPPORT,
            user=make_user(session),
            structure=structure,
            portal=certificateurs,
            now=now,
        )


def test_one_person_has_one_account_per_structure_and_portal(session, soltea, alpha, now):
    user = make_user(session)
    open_account(session, by=SUPPORT, user=user, structure=alpha, portal=soltea, now=now)

    with pytest.raises(AlreadyExists):
        open_account(session, by=SUPPORT, user=user, structure=alpha, portal=soltea, now=now)
    # The refused duplicate left the first account and the session usable.
    assert session.scalar(select(func.count()).select_from(Account)) == 1


def test_r4_renewing_a_valid_account_adds_the_validity_to_its_expiry(session, soltea, alpha, now):
    account = make_account(
        session, now=now, structure=alpha, portal=soltea, expires_in=timedelta(days=30)
    )

    renew(session, account, by=SUPPORT, now=now)

    assert paris_date(account.expires_at) == "23/06/2028"  # 23/12/2026 + 18 months


def test_r4_renewals_stack(session, soltea, alpha, now):
    account = make_account(session, now=now, structure=alpha, portal=soltea)  # until 23/05/2028

    for _ in range(3):
        renew(session, account, by=SUPPORT, now=now)

    # Three more periods on top of the first: 4 × 18 months = 6 years from today.
    assert paris_date(account.expires_at) == "23/11/2032"


def test_r4_renewing_after_expiry_counts_from_now(session, soltea, alpha, now):
    account = make_account(
        session, now=now, structure=alpha, portal=soltea, expires_in=timedelta(days=-10)
    )
    assert account.is_expired(now)

    renew(session, account, by=SUPPORT, now=now)

    assert not account.is_expired(now)
    assert paris_date(account.expires_at) == "23/05/2028"


def test_r4_a_repeated_idempotency_key_renews_once(session, soltea, alpha, now):
    account = make_account(
        session, now=now, structure=alpha, portal=soltea, expires_in=timedelta(days=-10)
    )

    renew(session, account, by=SUPPORT, now=now, key="form-7f3a")
    renew(session, account, by=SUPPORT, now=now + timedelta(seconds=2), key="form-7f3a")

    assert paris_date(account.expires_at) == "23/05/2028"
    renewals = session.scalars(select(AuditEvent).filter_by(action="account.renew")).all()
    assert len(renewals) == 1
    assert renewals[0].before["expires_at"] < renewals[0].after["expires_at"]


def test_r4_distinct_keys_are_distinct_renewals(session, soltea, alpha, now):
    account = make_account(session, now=now, structure=alpha, portal=soltea)

    renew(session, account, by=SUPPORT, now=now, key="click-1")
    renew(session, account, by=SUPPORT, now=now, key="click-2")

    assert paris_date(account.expires_at) == "23/05/2031"
    assert session.scalar(select(func.count()).select_from(RenewalReceipt)) == 2


def test_r4_an_oversized_idempotency_key_is_refused(session, soltea, alpha, now):
    account = make_account(session, now=now, structure=alpha, portal=soltea)
    expiry = account.expires_at

    with pytest.raises(InvalidField) as error:
        renew(session, account, by=SUPPORT, now=now, key="k" * 101)

    assert error.value.field == "idempotency_key"
    assert account.expires_at == expiry


def test_r4_two_admins_renewing_the_same_account_at_once_both_count(session_factory, now):
    """Two admins click « Renouveler » at the same moment: two renewals, neither lost (R4).

    The second request has read the account before the first one commits; on SQLite it loses the
    race and starts over, on PostgreSQL it waits for the row lock and re-reads."""
    with session_factory() as setup, unit_of_work(setup):
        soltea = make_portal(setup, "soltea")
        structure = make_structure(setup, portals=(soltea,))
        account_id = make_account(setup, now=now, structure=structure, portal=soltea).id

    def first_request(session):
        renew(session, session.get(Account, account_id), by=SUPPORT, now=now)

    def second_request(session):
        account = session.get(Account, account_id)
        if not interleaved:
            interleaved.append(True)
            retrying(session_factory, first_request)
        renew(session, account, by=SUPPORT, now=now)

    interleaved: list[bool] = []
    retrying(session_factory, second_request)

    with session_factory() as check:
        assert paris_date(check.get(Account, account_id).expires_at) == "23/05/2031"
        assert len(check.scalars(select(AuditEvent).filter_by(action="account.renew")).all()) == 2


def test_every_change_is_audited_in_its_transaction(session_factory, now):
    """A request that fails after its changes leaves neither the changes nor their events."""

    def failing_request(session):
        soltea = make_portal(session, "soltea")
        structure = make_structure(session, portals=(soltea,))
        account = open_account(
            session,
            by=SUPPORT,
            user=make_user(session),
            structure=structure,
            portal=soltea,
            now=now,
            role=Role.ADMIN,
        )
        renew(session, account, by=SUPPORT, now=now)
        assert len(session.scalars(select(AuditEvent)).all()) == 2
        raise RuntimeError("the request failed after the changes")

    with pytest.raises(RuntimeError):
        retrying(session_factory, failing_request)

    with session_factory() as check:
        assert check.scalar(select(func.count()).select_from(Account)) == 0
        assert check.scalar(select(func.count()).select_from(AuditEvent)) == 0


def queued_mail(session):
    return [
        (m.recipient, m.template, m.subject)
        for m in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    ]


def test_the_holder_is_told_of_a_new_account_and_of_each_renewal(session, soltea, alpha, now):
    user = make_user(session, first_name="Bruno", last_name="Petit")
    account = open_account(session, by=SUPPORT, user=user, structure=alpha, portal=soltea, now=now)
    renew(session, account, by=SUPPORT, now=now, key="form-1")
    renew(session, account, by=SUPPORT, now=now, key="form-1")  # resubmitted: no second mail

    mails = queued_mail(session)

    assert [(recipient, template) for recipient, template, _ in mails] == [
        (user.email, "account_created"),
        (user.email, "account_renewed"),
    ]
    assert "SOLTÉA" in mails[1][2]
    text = session.scalar(select(OutboxMessage.text_body).filter_by(template="account_renewed"))
    assert "23/11/2029" in text  # 23/05/2028 + 18 months


def test_no_mail_leaves_for_a_change_that_did_not_happen(session_factory, now):
    def failing_request(session):
        soltea = make_portal(session, "soltea")
        structure = make_structure(session, portals=(soltea,))
        account = make_account(session, now=now, structure=structure, portal=soltea)
        renew(session, account, by=SUPPORT, now=now)
        raise RuntimeError("the request failed after the renewal")

    with pytest.raises(RuntimeError):
        retrying(session_factory, failing_request)

    with session_factory() as check:
        assert queued_mail(check) == []
