"""R2, R7, R9, R11: who administers what, and what administrators may change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts import policies
from hub.accounts.models import Account, Right, Role
from hub.accounts.services import change_role, delete_account, renew, renew_many, set_right
from hub.actors import System
from hub.audit.models import AuditEvent
from hub.audit.services import audit_context
from hub.clock import add_months
from hub.errors import LastAdministrator, NotAllowed
from hub.transactions import unit_of_work
from tests.factories import (
    make_account,
    make_delegation,
    make_portal,
    make_structure,
    make_user,
)

SUPPORT = System("support")


@pytest.fixture
def delegation(session, soltea, certificateurs):
    """DESIGN.md §4: soltea → certificateurs."""
    return make_delegation(session, soltea, certificateurs)


@pytest.fixture
def alpha(session, soltea, certificateurs, delegation):
    return make_structure(
        session, portals=(soltea, certificateurs), name="Organisme Alpha Formation"
    )


@pytest.fixture
def alice(session, now, alpha, soltea):
    """Admin of Alpha on SOLTÉA, valid 12 more months (DESIGN.md §4)."""
    user = make_user(session, first_name="Alice", last_name="Martin")
    make_account(
        session,
        now=now,
        user=user,
        structure=alpha,
        portal=soltea,
        role=Role.ADMIN,
        is_first_admin=True,
        expires_in=timedelta(days=365),
    )
    return user


@pytest.fixture
def bruno_on_certificateurs(session, now, alpha, certificateurs):
    user = make_user(session, first_name="Bruno", last_name="Petit")
    return make_account(
        session,
        now=now,
        user=user,
        structure=alpha,
        portal=certificateurs,
        expires_in=timedelta(days=-10),
    )


def admin_account(session, user, structure, portal):
    return session.scalar(
        select(Account).filter_by(user_id=user.id, structure_id=structure.id, portal_id=portal.id)
    )


# R9: derivation ------------------------------------------------------------------------------


def test_r9_a_soltea_admin_administers_the_structure_on_certificateurs(
    session, now, alice, alpha, soltea, certificateurs
):
    assert policies.administers(session, alice, alpha, soltea, now=now)
    assert policies.administers(session, alice, alpha, certificateurs, now=now)

    grants = policies.administered(session, alice, now=now)
    assert [(g.portal.code, g.structure.name, g.via and g.via.code) for g in grants] == [
        ("soltea", "Organisme Alpha Formation", None),
        ("certificateurs", "Organisme Alpha Formation", "soltea"),
    ]


def test_r9_delegation_is_one_way(session, now, alpha, soltea, certificateurs):
    dora = make_user(session, first_name="Dora")
    make_account(
        session, now=now, user=dora, structure=alpha, portal=certificateurs, role=Role.ADMIN
    )

    assert policies.administers(session, dora, alpha, certificateurs, now=now)
    assert not policies.administers(session, dora, alpha, soltea, now=now)


def test_r9_needs_the_structures_contract_on_the_target_portal(
    session, now, soltea, certificateurs, delegation
):
    soltea_only = make_structure(session, portals=(soltea,))
    admin = make_user(session)
    make_account(
        session, now=now, user=admin, structure=soltea_only, portal=soltea, role=Role.ADMIN
    )

    assert not policies.administers(session, admin, soltea_only, certificateurs, now=now)
    assert [g.portal.code for g in policies.administered(session, admin, now=now)] == ["soltea"]


def test_r9_rights_stay_within_the_structure(session, now, alice, soltea, certificateurs):
    other = make_structure(session, portals=(soltea, certificateurs))

    assert not policies.administers(session, alice, other, soltea, now=now)
    assert not policies.administers(session, alice, other, certificateurs, now=now)


def test_r9_ordinary_users_administer_nothing(session, now, alpha, soltea, certificateurs):
    user = make_user(session)
    make_account(session, now=now, user=user, structure=alpha, portal=soltea)

    assert not policies.administers(session, user, alpha, soltea, now=now)
    assert policies.administered(session, user, now=now) == []


def test_r9_administrators_name_the_first_admin_then_delegated_ones(
    session, now, alice, alpha, soltea, certificateurs
):
    direct = make_user(session, first_name="Denis")
    make_account(
        session, now=now, user=direct, structure=alpha, portal=certificateurs, role=Role.ADMIN
    )

    admins = policies.administrators(session, alpha, certificateurs, now=now)

    assert [(a.user.first_name, a.via and a.via.code) for a in admins] == [
        ("Denis", None),
        ("Alice", "soltea"),
    ]


# R9: immediate lapse -------------------------------------------------------------------------


def test_r9_an_expired_soltea_admin_loses_certificateurs_at_once(
    session, now, alice, alpha, certificateurs
):
    lapse = admin_account(
        session, alice, alpha, session.scalar(select(type(certificateurs)).filter_by(code="soltea"))
    ).expires_at

    assert policies.administers(
        session, alice, alpha, certificateurs, now=lapse - timedelta(seconds=1)
    )
    assert not policies.administers(session, alice, alpha, certificateurs, now=lapse)
    assert policies.administered(session, alice, now=lapse) == []


def test_r9_a_demoted_soltea_admin_loses_certificateurs_at_once(
    session, now, alice, alpha, soltea, certificateurs
):
    successor = make_user(session, first_name="Sacha")
    make_account(session, now=now, user=successor, structure=alpha, portal=soltea, role=Role.ADMIN)

    change_role(
        session, admin_account(session, alice, alpha, soltea), Role.USER, by=successor, now=now
    )

    assert not policies.administers(session, alice, alpha, certificateurs, now=now)
    assert policies.administers(session, successor, alpha, certificateurs, now=now)


def test_r9_a_deleted_soltea_admin_loses_certificateurs_at_once(
    session, now, alice, alpha, soltea, certificateurs
):
    successor = make_user(session, first_name="Sacha")
    make_account(session, now=now, user=successor, structure=alpha, portal=soltea, role=Role.ADMIN)

    delete_account(session, admin_account(session, alice, alpha, soltea), by=successor, now=now)

    assert not policies.administers(session, alice, alpha, certificateurs, now=now)


# R9, R15: from a portal's « Administration » -------------------------------------------------


def test_r9_soltea_administration_reaches_certificateurs_but_not_the_other_way(
    session, now, alice, alpha, soltea, certificateurs
):
    from_soltea = policies.administered(session, alice, now=now, from_portal=soltea)
    from_certificateurs = policies.administered(session, alice, now=now, from_portal=certificateurs)

    assert [g.portal.code for g in from_soltea] == ["soltea", "certificateurs"]
    assert [g.portal.code for g in from_certificateurs] == ["certificateurs"]
    assert policies.administers(session, alice, alpha, certificateurs, now=now, from_portal=soltea)
    assert policies.administers(
        session, alice, alpha, certificateurs, now=now, from_portal=certificateurs
    )
    assert not policies.administers(
        session, alice, alpha, soltea, now=now, from_portal=certificateurs
    )


def test_r15_an_administration_only_for_whom_administers_something_it_reaches(
    session, now, alice, alpha, soltea, certificateurs
):
    dora = make_user(session, first_name="Dora")
    make_account(
        session, now=now, user=dora, structure=alpha, portal=certificateurs, role=Role.ADMIN
    )
    soltea_only = make_user(session, first_name="Sacha")
    make_account(
        session,
        now=now,
        user=soltea_only,
        structure=make_structure(session, portals=(soltea,)),
        portal=soltea,
        role=Role.ADMIN,
    )
    user = make_user(session)
    make_account(session, now=now, user=user, structure=alpha, portal=soltea)

    assert policies.administers_from(session, alice, soltea, now=now)
    assert policies.administers_from(session, alice, certificateurs, now=now)  # by delegation
    assert policies.administers_from(session, dora, certificateurs, now=now)
    assert policies.administers_from(session, dora, soltea, now=now)  # reaches Certificateurs
    assert not policies.administers_from(session, soltea_only, certificateurs, now=now)
    assert not policies.administers_from(session, user, soltea, now=now)


# R2, R7: what an administrator changes -------------------------------------------------------


def test_r9_a_delegated_admin_renews_a_certificateurs_account(
    session, now, alice, bruno_on_certificateurs
):
    with audit_context(request_id="req-1", via_portal="soltea"):
        renew(session, bruno_on_certificateurs, by=alice, now=now)

    assert not bruno_on_certificateurs.is_expired(now)
    event = session.scalar(select(AuditEvent).filter_by(action="account.renew"))
    assert (event.actor, event.portal, event.via_portal, event.request_id) == (
        alice.username,
        "certificateurs",
        "soltea",
        "req-1",
    )


def test_r7_an_admin_withdraws_and_restores_data_exchange(
    session, now, alice, alpha, certificateurs
):
    chloe = make_account(session, now=now, structure=alpha, portal=certificateurs)

    set_right(session, chloe, Right.DATA_EXCHANGE, False, by=alice, now=now)
    assert not chloe.has_right(Right.DATA_EXCHANGE)
    set_right(session, chloe, Right.DATA_EXCHANGE, True, by=alice, now=now)
    assert chloe.has_right(Right.DATA_EXCHANGE)

    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["account.right_withdraw", "account.right_restore"]


def test_r2_an_admin_promotes_a_user(session, now, alice, alpha, certificateurs):
    account = make_account(session, now=now, structure=alpha, portal=certificateurs)

    change_role(session, account, Role.ADMIN, by=alice, now=now)

    assert policies.administers(session, account.user, alpha, certificateurs, now=now)


@pytest.mark.parametrize("action", ["renew", "demote", "withdraw", "delete"])
def test_an_account_of_another_structure_is_refused_and_the_refusal_audited(
    session_factory, now, action
):
    with session_factory() as session, unit_of_work(session):
        soltea = make_portal(session, "soltea")
        own, other = (
            make_structure(session, portals=(soltea,)),
            make_structure(session, portals=(soltea,)),
        )
        admin = make_user(session, first_name="Alice")
        make_account(session, now=now, user=admin, structure=own, portal=soltea, role=Role.ADMIN)
        target = make_account(session, now=now, structure=other, portal=soltea, role=Role.ADMIN)
        target_id, expiry = target.id, target.expires_at
    attempts = {
        "renew": lambda s, a, by: renew(s, a, by=by, now=now),
        "demote": lambda s, a, by: change_role(s, a, Role.USER, by=by, now=now),
        "withdraw": lambda s, a, by: set_right(s, a, Right.DATA_EXCHANGE, False, by=by, now=now),
        "delete": lambda s, a, by: delete_account(s, a, by=by, now=now),
    }

    with (
        session_factory() as session,
        pytest.raises(NotAllowed),
        unit_of_work(session, clock=lambda: now),
    ):
        attempts[action](session, session.get(Account, target_id), session.merge(admin))

    with session_factory() as check:
        unchanged = check.get(Account, target_id)
        assert (unchanged.role, unchanged.expires_at, unchanged.rights) == (
            Role.ADMIN,
            expiry,
            frozenset({Right.DATA_EXCHANGE}),
        )
        events = check.scalars(select(AuditEvent).where(AuditEvent.action.like("%.refused"))).all()
        assert [(e.actor, e.target_id, e.structure_id) for e in events] == [
            ("alice." + admin.last_name.lower(), str(target_id), other.id)
        ]


def test_r6_anyone_deletes_their_own_account(session, now, alpha, soltea):
    account = make_account(session, now=now, structure=alpha, portal=soltea)

    delete_account(session, account, by=account.user, now=now)

    assert session.get(Account, account.id) is None


# R11: the last administrator -----------------------------------------------------------------


def test_r11_the_last_admin_cannot_be_demoted(session, now, alice, alpha, soltea):
    account = admin_account(session, alice, alpha, soltea)

    with pytest.raises(LastAdministrator):
        change_role(session, account, Role.USER, by=alice, now=now)

    session.expire_all()
    assert admin_account(session, alice, alpha, soltea).role is Role.ADMIN


def test_r11_the_last_admin_cannot_delete_their_own_account(session, now, alice, alpha, soltea):
    make_account(session, now=now, structure=alpha, portal=soltea)  # someone they administer
    with pytest.raises(LastAdministrator):
        delete_account(session, admin_account(session, alice, alpha, soltea), by=alice, now=now)

    session.expire_all()
    assert admin_account(session, alice, alpha, soltea) is not None


def test_r11_the_delegating_admin_is_needed_while_certificateurs_is_active(
    session, now, alice, alpha, soltea, certificateurs, bruno_on_certificateurs
):
    """Alice is the only direct SOLTÉA admin and the only (delegated) Certificateurs admin.
    A second SOLTÉA admin lets her step down; Certificateurs keeps the successor."""
    successor = make_user(session, first_name="Sacha")
    make_account(
        session, now=now, user=successor, structure=alpha, portal=certificateurs, role=Role.ADMIN
    )
    # A direct Certificateurs admin does not cover SOLTÉA: Alice is still SOLTÉA's last admin.
    with pytest.raises(LastAdministrator):
        change_role(
            session, admin_account(session, alice, alpha, soltea), Role.USER, by=alice, now=now
        )


def test_r11_losing_the_only_certificateurs_admin_through_delegation_is_refused(
    session, now, alice, alpha, soltea, certificateurs, bruno_on_certificateurs
):
    """Certificateurs is active (Bruno's account) and administered only through Alice's SOLTÉA
    account; a second SOLTÉA admin on another structure does not count."""
    second = make_user(session, first_name="Sacha")
    make_account(session, now=now, user=second, structure=alpha, portal=soltea, role=Role.ADMIN)

    change_role(
        session, admin_account(session, alice, alpha, soltea), Role.USER, by=second, now=now
    )

    assert [
        a.user.first_name for a in policies.administrators(session, alpha, certificateurs, now=now)
    ] == ["Sacha"]


def test_r11_an_expired_admin_does_not_count(session, now, alpha, certificateurs):
    lapsed = make_account(
        session,
        now=now,
        structure=alpha,
        portal=certificateurs,
        role=Role.ADMIN,
        expires_in=timedelta(days=-1),
    )
    current = make_account(
        session, now=now, structure=alpha, portal=certificateurs, role=Role.ADMIN
    )

    with pytest.raises(LastAdministrator):
        change_role(session, current, Role.USER, by=SUPPORT, now=now)
    # Demoting the lapsed one is fine: the structure keeps its valid administrator.
    change_role(session, lapsed, Role.USER, by=SUPPORT, now=now)


def test_r11_a_structure_without_other_accounts_may_lose_its_last_admin(
    session, now, certificateurs
):
    """No one left to administer: the structure is no longer active on the portal."""
    structure = make_structure(session, portals=(certificateurs,))
    only = make_account(
        session, now=now, structure=structure, portal=certificateurs, role=Role.ADMIN
    )

    delete_account(session, only, by=only.user, now=now)

    assert session.get(Account, only.id) is None


def test_r4_renewing_a_selection_renews_each_account_once_per_submission(
    session, now, alice, alpha, certificateurs, bruno_on_certificateurs
):
    chloe = make_account(session, now=now, structure=alpha, portal=certificateurs)
    chloe_expiry = chloe.expires_at
    selection = [bruno_on_certificateurs, chloe]

    renew_many(session, selection, by=alice, now=now, key="selection-1")
    renew_many(session, selection, by=alice, now=now, key="selection-1")  # double submit

    assert bruno_on_certificateurs.expires_at == add_months(now, 18)  # expired: from now
    assert chloe.expires_at == add_months(chloe_expiry, 18)  # valid: stacked
    assert len(session.scalars(select(AuditEvent).filter_by(action="account.renew")).all()) == 2


def test_a_selection_with_one_foreign_account_is_refused_whole(
    session, now, alice, alpha, soltea, certificateurs, bruno_on_certificateurs
):
    foreign = make_account(
        session, now=now, structure=make_structure(session, portals=(soltea,)), portal=soltea
    )
    expiries = [bruno_on_certificateurs.expires_at, foreign.expires_at]

    with pytest.raises(NotAllowed):
        renew_many(session, [bruno_on_certificateurs, foreign], by=alice, now=now)

    assert [bruno_on_certificateurs.expires_at, foreign.expires_at] == expiries
