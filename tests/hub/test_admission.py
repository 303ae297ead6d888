"""R5 at a portal's door as the hub decides it (`hub.oidc.access.admit`): a person with a valid
account on the portal, their own or as a delegated admin (R9), is admitted; otherwise the
refusal is raised, with R5's sentence or the no-account one, and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts.models import Role
from hub.audit.models import AuditEvent
from hub.errors import AccountExpired, NoAccount
from hub.oidc.access import admit, check_admission, is_expired_on
from tests.factories import make_account, make_delegation, make_structure, make_user

EXPIRED = timedelta(days=-10)
CLIENT = "certificateurs"


@pytest.fixture
def alpha(session, soltea, certificateurs):
    return make_structure(session, portals=(soltea, certificateurs), name="Alpha")


@pytest.fixture
def person(session):
    return make_user(session, first_name="Bruno", last_name="Petit")


@pytest.fixture
def holds(session, person, alpha, now):
    """Gives the person an account on `portal`: of Alpha unless another `structure` is named,
    valid for R3's period unless `expires_in` says otherwise."""

    def account(portal, *, structure=None, role=Role.USER, expires_in=None):
        return make_account(
            session,
            now=now,
            structure=structure or alpha,
            portal=portal,
            user=person,
            role=role,
            expires_in=expires_in,
        )

    return account


def refusals(session) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).filter_by(action="oidc.authorize.refused")))


def test_r5_a_valid_own_account_is_admitted(session, holds, certificateurs, person, now):
    holds(certificateurs)

    admission = admit(session, person.id, certificateurs, now=now, client=CLIENT)

    assert (admission.user_id, admission.portal, admission.at) == (person.id, certificateurs, now)
    assert refusals(session) == []


def test_r5_one_valid_account_among_expired_ones_is_enough(
    session, holds, certificateurs, person, now
):
    other = make_structure(session, portals=(certificateurs,))
    holds(certificateurs, expires_in=EXPIRED)
    holds(certificateurs, structure=other)

    assert admit(session, person.id, certificateurs, now=now, client=CLIENT).user_id == person.id


def test_r5_all_accounts_expired_is_refused_with_the_exact_sentence_and_audited(
    session, holds, certificateurs, person, now
):
    holds(certificateurs, expires_in=EXPIRED)

    with pytest.raises(AccountExpired) as refused:
        admit(session, person.id, certificateurs, now=now, client=CLIENT)

    assert refused.value.message == (
        "Votre compte est expiré. Veuillez contacter votre administrateur."
    )
    assert (refused.value.code, refused.value.status) == ("account_expired", 403)
    [event] = refusals(session)
    assert (event.actor, event.portal, event.target_type, event.target) == (
        "bruno.petit",
        "certificateurs",
        "user",
        "bruno.petit",
    )
    assert event.after == {"reason": "account_expired", "client": CLIENT}
    assert event.occurred_at == now


def test_r5_the_account_expires_at_its_expiry_instant(session, holds, certificateurs, person, now):
    account = holds(certificateurs)

    with pytest.raises(AccountExpired):
        admit(session, person.id, certificateurs, now=account.expires_at, client=CLIENT)


def test_no_account_on_the_portal_is_refused_as_such_and_audited(
    session, holds, soltea, certificateurs, person, now
):
    holds(soltea)  # elsewhere

    with pytest.raises(NoAccount) as refused:
        admit(session, person.id, certificateurs, now=now, client=CLIENT)

    assert refused.value.message.startswith("Vous n'avez pas de compte sur Certificateurs.")
    assert (refused.value.code, refused.value.status) == ("no_account", 403)
    [event] = refusals(session)
    assert event.after == {"reason": "no_account", "client": CLIENT}


def test_r9_a_delegated_admin_is_admitted_without_an_account_of_their_own(
    session, holds, soltea, certificateurs, person, now
):
    make_delegation(session, soltea, certificateurs)
    holds(soltea, role=Role.ADMIN)

    assert admit(session, person.id, certificateurs, now=now, client=CLIENT).user_id == person.id


def test_r9_a_delegated_admin_with_an_expired_own_account_is_admitted(
    session, holds, soltea, certificateurs, person, now
):
    make_delegation(session, soltea, certificateurs)
    holds(soltea, role=Role.ADMIN)
    holds(certificateurs, expires_in=EXPIRED)

    assert admit(session, person.id, certificateurs, now=now, client=CLIENT).user_id == person.id


def test_r9_the_delegated_right_lapses_with_the_source_admin_account(
    session, holds, soltea, certificateurs, person, now
):
    make_delegation(session, soltea, certificateurs)
    holds(soltea, role=Role.ADMIN, expires_in=EXPIRED)

    with pytest.raises(NoAccount):
        admit(session, person.id, certificateurs, now=now, client=CLIENT)
    assert [event.after["reason"] for event in refusals(session)] == ["no_account"]


def test_r9_a_user_on_the_source_portal_is_no_delegated_admin(
    session, holds, soltea, certificateurs, person, now
):
    make_delegation(session, soltea, certificateurs)
    holds(soltea, role=Role.USER)

    with pytest.raises(NoAccount):
        admit(session, person.id, certificateurs, now=now, client=CLIENT)


def test_r9_no_delegation_without_the_structures_contract_for_the_portal(
    session, holds, soltea, certificateurs, person, now
):
    soltea_only = make_structure(session, portals=(soltea,))
    make_delegation(session, soltea, certificateurs)
    holds(soltea, structure=soltea_only, role=Role.ADMIN)

    with pytest.raises(NoAccount):
        admit(session, person.id, certificateurs, now=now, client=CLIENT)


def test_r5_the_decision_alone_audits_nothing(session, holds, certificateurs, person, now):
    holds(certificateurs, expires_in=EXPIRED)

    with pytest.raises(AccountExpired):
        check_admission(session, person.id, certificateurs, now=now)
    assert refusals(session) == []


def test_r5_only_an_expired_account_is_one_to_renew(
    session, holds, soltea, certificateurs, person, now
):
    holds(certificateurs, expires_in=EXPIRED)
    holds(soltea)
    nobody = make_user(session)

    assert is_expired_on(session, person.id, certificateurs, now=now)
    assert not is_expired_on(session, person.id, soltea, now=now)  # valid
    assert not is_expired_on(session, nobody.id, certificateurs, now=now)  # no account
