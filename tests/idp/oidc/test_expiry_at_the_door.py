"""R5 at the hub's door, per portal, and again at every refresh; R9's delegated admins; the
`accounts` claim a portal reads from UserInfo."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.accounts.models import Account, Role
from hub.audit.models import AuditEvent
from hub.clock import utcnow
from hub.oidc.access import ACCOUNT_EXPIRED
from hub.oidc.models import AuthorizationCode
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.users.models import User
from tests.factories import make_account
from tests.idp.oidc.conftest import ISSUER

CERTIFICATEURS_URL = "http://127.0.0.1:5002"


def account(session, username: str, portal: str) -> Account:
    return session.scalar(
        select(Account)
        .join(User)
        .join(Portal)
        .where(User.username == username, Portal.code == portal)
    )


def codes_issued(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuthorizationCode))


def test_r5_expired_on_certificateurs_gets_the_exact_message_and_no_code(
    certificateurs_rp, sign_in_as, client, session
):
    sign_in_as(client, "bruno.petit")

    response, _ = certificateurs_rp.authorize()

    assert response.status_code == 403
    assert "Location" not in response.headers
    assert ACCOUNT_EXPIRED == "Votre compte est expiré. Veuillez contacter votre administrateur."
    assert ACCOUNT_EXPIRED in response.text
    assert f'href="{CERTIFICATEURS_URL}"' in response.text
    assert codes_issued(session) == 0
    event = session.scalar(select(AuditEvent).filter_by(action="oidc.authorize.refused"))
    assert (event.actor, event.portal, event.after["reason"]) == (
        "bruno.petit",
        "certificateurs",
        "account_expired",
    )


def test_r5_expired_with_prompt_none_is_access_denied(
    certificateurs_rp, sign_in_as, client, session
):
    sign_in_as(client, "bruno.petit")

    response, authorization = certificateurs_rp.authorize(prompt="none")

    params = certificateurs_rp.callback(response)
    assert params == {
        "error": "access_denied",
        "error_description": "account_expired",
        "state": authorization.state,
        "iss": ISSUER,
    }
    assert codes_issued(session) == 0


def test_r5_expired_on_certificateurs_still_signs_in_to_soltea(
    certificateurs_rp, soltea_rp, sign_in_as, client
):
    sign_in_as(client, "bruno.petit")
    refused, _ = certificateurs_rp.authorize()

    tokens = soltea_rp.sign_in()

    assert refused.status_code == 403
    accounts = soltea_rp.userinfo(tokens["access_token"]).get_json()["accounts"]
    assert [(a["role"], a["expired"]) for a in accounts] == [("user", False)]


def test_no_account_on_the_portal_gets_a_clear_message(soltea_rp, sign_in_as, client, session):
    sign_in_as(client, "chloe.roux")

    response, _ = soltea_rp.authorize()
    silent, authorization = soltea_rp.authorize(prompt="none")

    assert response.status_code == 403
    assert "Vous n&#39;avez pas de compte sur SOLTÉA." in response.text
    assert soltea_rp.callback(silent) == {
        "error": "access_denied",
        "error_description": "no_account",
        "state": authorization.state,
        "iss": ISSUER,
    }
    assert codes_issued(session) == 0


def test_accounts_claim_of_a_user_without_data_exchange(
    certificateurs_rp, sign_in_as, client, session
):
    sign_in_as(client, "chloe.roux")

    tokens = certificateurs_rp.sign_in()

    own = account(session, "chloe.roux", "certificateurs")
    assert certificateurs_rp.userinfo(tokens["access_token"]).get_json()["accounts"] == [
        {
            "structure": {
                "matricule": "100001",
                "name": "Organisme Alpha Formation",
                "siret": "10000010800017",
            },
            "role": "user",
            "via": None,
            "rights": [],
            "expires_at": own.expires_at.isoformat(),
            "expired": False,
            "deposits_for": [],
        }
    ]


def test_r9_soltea_admin_signs_in_to_certificateurs_as_delegated_admin(
    certificateurs_rp, sign_in_as, client, session
):
    sign_in_as(client, "alice.martin")

    tokens = certificateurs_rp.sign_in()

    source = account(session, "alice.martin", "soltea")
    assert certificateurs_rp.userinfo(tokens["access_token"]).get_json()["accounts"] == [
        {
            "structure": {
                "matricule": "100001",
                "name": "Organisme Alpha Formation",
                "siret": "10000010800017",
            },
            "role": "admin",
            "via": "soltea",
            "rights": [],
            "expires_at": source.expires_at.isoformat(),
            "expired": False,
            "deposits_for": [],
        }
    ]


def test_r9_a_delegated_admin_right_raises_an_own_user_account(
    certificateurs_rp, sign_in_as, client, session, now
):
    chloe = session.scalar(select(User).filter_by(username="chloe.roux"))
    alpha = session.scalar(select(Structure).filter_by(matricule="100001"))
    soltea = session.scalar(select(Portal).filter_by(code="soltea"))
    make_account(session, now=now, structure=alpha, portal=soltea, user=chloe, role=Role.ADMIN)
    session.commit()
    sign_in_as(client, "chloe.roux")

    tokens = certificateurs_rp.sign_in()

    own = account(session, "chloe.roux", "certificateurs")
    [entry] = certificateurs_rp.userinfo(tokens["access_token"]).get_json()["accounts"]
    assert (entry["role"], entry["via"], entry["rights"]) == ("admin", "soltea", [])
    assert entry["expires_at"] == own.expires_at.isoformat()


def test_r9_the_delegated_right_lapses_with_the_soltea_admin_account(
    certificateurs_rp, sign_in_as, client, session
):
    account(session, "alice.martin", "soltea").expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    sign_in_as(client, "alice.martin")

    response, _ = certificateurs_rp.authorize()

    assert response.status_code == 403
    assert "Vous n&#39;avez pas de compte sur Certificateurs." in response.text


def test_r5_a_refresh_stops_once_the_account_expires(
    certificateurs_rp, sign_in_as, client, session, time_machine
):
    account(session, "chloe.roux", "certificateurs").expires_at = utcnow() + timedelta(minutes=2)
    session.commit()
    sign_in_as(client, "chloe.roux")
    tokens = certificateurs_rp.sign_in()
    first = certificateurs_rp.refresh(tokens["refresh_token"])
    time_machine.move_to(utcnow() + timedelta(minutes=3), tick=False)

    second = certificateurs_rp.refresh(first.get_json()["refresh_token"])

    assert first.status_code == 200
    assert second.status_code == 400
    assert second.get_json() == {"error": "invalid_grant", "error_description": "account_expired"}


@pytest.mark.parametrize("change", ["demoted", "deleted"])
def test_r9_a_delegated_admin_loses_refresh_when_the_source_right_goes(
    certificateurs_rp, sign_in_as, client, session, change
):
    sign_in_as(client, "alice.martin")
    tokens = certificateurs_rp.sign_in()
    source = account(session, "alice.martin", "soltea")
    if change == "demoted":
        source.role = Role.USER
    else:
        session.delete(source)
    session.commit()

    response = certificateurs_rp.refresh(tokens["refresh_token"])

    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_grant", "error_description": "no_account"}


def test_r12_the_accounts_claim_names_the_certifiers_a_depositor_deposits_for(
    certificateurs_rp, soltea_rp, sign_in_as, client, session
):
    """Gamma Dépôts, tiers de confiance, is mandated by Certif Beta: Certificateurs reads it in
    `deposits_for` (issue 15); SOLTÉA, where mandates mean nothing, is not told."""
    from hub.structures.models import Mandate
    from tests.factories import make_user

    gamma = session.scalar(select(Structure).filter_by(matricule="100003"))
    beta = session.scalar(select(Structure).filter_by(matricule="100002"))
    certificateurs = session.scalar(select(Portal).filter_by(code="certificateurs"))
    gaston = make_user(session, first_name="Gaston", last_name="Depot")
    make_account(session, now=utcnow(), user=gaston, structure=gamma, portal=certificateurs)
    session.add(Mandate(depositor=gamma, certifier=beta))
    session.commit()
    sign_in_as(client, gaston.username)

    tokens = certificateurs_rp.sign_in()

    [entry] = certificateurs_rp.userinfo(tokens["access_token"]).get_json()["accounts"]
    assert entry["structure"]["matricule"] == "100003"
    assert entry["deposits_for"] == [
        {"matricule": "100002", "name": "Certif Beta", "siret": "20000020600017"}
    ]
