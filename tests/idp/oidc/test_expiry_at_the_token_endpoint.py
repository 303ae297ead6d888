"""R5 at the code exchange: a code lives 60 s, and an account that expires, is deleted, or
whose delegated admin right lapses (R9) in between gets no tokens from it. The portal reads
what the person would have read at the door, the refusal is audited like the door's, and the
code is spent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.accounts.services import delete_account
from hub.audit.models import AuditEvent
from hub.errors import NoAccount
from hub.oidc.access import ACCOUNT_EXPIRED
from hub.oidc.models import AuthorizationCode, OAuthToken
from tests.idp.api.demo_accounts import account_of

ACCOUNT_ENDS = timedelta(seconds=10)
CODE_EXCHANGED = timedelta(seconds=20)


def tokens_issued(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(OAuthToken))


def refusals(session) -> list[AuditEvent]:
    session.expire_all()
    return list(session.scalars(select(AuditEvent).filter_by(action="oidc.token.refused")))


def refused_without_tokens(response, session, sentence: str) -> AuditEvent:
    """The exchange answered `invalid_grant` with the sentence the door shows, issued nothing,
    and left one audited refusal, returned."""
    assert response.status_code == 400
    assert response.get_json() == {"error": "invalid_grant", "error_description": sentence}
    assert tokens_issued(session) == 0
    [event] = refusals(session)
    return event


@pytest.fixture
def code_for(sign_in_as, client, session, time_machine, now):
    """The person signed in at the hub gets a code for the portal at `now`; the clock then
    moves to `now + CODE_EXCHANGED`, the code still within its 60 s."""

    def issue(portal, username: str) -> tuple[str, str]:
        sign_in_as(client, username)
        code, authorization = portal.code()
        time_machine.move_to(now + CODE_EXCHANGED, tick=False)
        return code, authorization.verifier

    return issue


def test_r5_an_account_expiring_between_authorize_and_the_exchange_gets_no_tokens(
    certificateurs_rp, code_for, session, now
):
    account_of(session, "chloe.roux", "certificateurs").expires_at = now + ACCOUNT_ENDS
    session.commit()
    code, verifier = code_for(certificateurs_rp, "chloe.roux")

    response = certificateurs_rp.exchange(code, verifier)

    event = refused_without_tokens(response, session, ACCOUNT_EXPIRED)
    assert response.headers["Cache-Control"] == "no-store"
    assert (event.actor, event.portal, event.target, event.occurred_at) == (
        "chloe.roux",
        "certificateurs",
        "chloe.roux",
        now + CODE_EXCHANGED,
    )
    assert event.after == {"reason": "account_expired", "client": "certificateurs"}


def test_r5_the_refused_code_stays_spent_even_once_the_account_is_renewed(
    certificateurs_rp, code_for, session, now
):
    chloe = account_of(session, "chloe.roux", "certificateurs")
    chloe.expires_at = now + ACCOUNT_ENDS
    session.commit()
    code, verifier = code_for(certificateurs_rp, "chloe.roux")
    refused = certificateurs_rp.exchange(code, verifier)
    chloe.expires_at = now + timedelta(days=365)  # renewed by an administrator (R4)
    session.commit()

    again = certificateurs_rp.exchange(code, verifier)

    assert refused.status_code == 400
    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_grant"
    assert again.get_json()["error_description"] != ACCOUNT_EXPIRED  # spent, not refused again
    assert tokens_issued(session) == 0
    assert len(refusals(session)) == 1
    session.expire_all()
    assert session.scalar(select(AuthorizationCode)).used_at == now + CODE_EXCHANGED


def test_r5_an_account_valid_at_the_exchange_still_gets_its_tokens(
    certificateurs_rp, code_for, session, now
):
    account_of(session, "chloe.roux", "certificateurs").expires_at = now + CODE_EXCHANGED * 2
    session.commit()
    code, verifier = code_for(certificateurs_rp, "chloe.roux")

    response = certificateurs_rp.exchange(code, verifier)

    assert response.status_code == 200, response.text
    assert refusals(session) == []


def test_an_account_deleted_between_authorize_and_the_exchange_gets_no_tokens(
    certificateurs_rp, code_for, session, now
):
    code, verifier = code_for(certificateurs_rp, "chloe.roux")
    chloe = account_of(session, "chloe.roux", "certificateurs")
    delete_account(session, chloe, by=chloe.user, now=now + ACCOUNT_ENDS)  # R6: her own
    session.commit()

    response = certificateurs_rp.exchange(code, verifier)

    event = refused_without_tokens(response, session, NoAccount("Certificateurs").message)
    assert event.after == {"reason": "no_account", "client": "certificateurs"}


def test_r9_a_delegated_admin_whose_soltea_account_expires_meanwhile_gets_no_tokens(
    certificateurs_rp, code_for, session, now
):
    account_of(session, "alice.martin", "soltea").expires_at = now + ACCOUNT_ENDS
    session.commit()
    code, verifier = code_for(certificateurs_rp, "alice.martin")  # admin via SOLTÉA

    response = certificateurs_rp.exchange(code, verifier)

    event = refused_without_tokens(response, session, NoAccount("Certificateurs").message)
    assert (event.actor, event.portal, event.after["reason"]) == (
        "alice.martin",
        "certificateurs",
        "no_account",
    )


def test_r5_the_soltea_admin_account_expiring_meanwhile_is_refused_on_soltea_too(
    soltea_rp, code_for, session, now
):
    account_of(session, "alice.martin", "soltea").expires_at = now + ACCOUNT_ENDS
    session.commit()
    code, verifier = code_for(soltea_rp, "alice.martin")

    response = soltea_rp.exchange(code, verifier)

    assert response.get_json() == {"error": "invalid_grant", "error_description": ACCOUNT_EXPIRED}
