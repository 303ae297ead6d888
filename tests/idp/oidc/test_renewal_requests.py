"""« Prévenir mon administrateur » on R5's expired-account page (issue 6 §4): one mail to each
administrator of the structure on that portal, delegated ones included (R9), at most once a
day, revealing nothing of who received it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.accounts.models import Account, Role
from hub.clock import utcnow
from hub.mail.models import OutboxMessage
from hub.portals.models import Portal
from hub.users.models import User
from idp.auth.renewal_requests import ALREADY_ASKED, NOBODY, SENT
from tests.idp.signing_in import audit_events, csrf_token_of


def requests_mailed(session) -> list[OutboxMessage]:
    session.rollback()
    return list(session.scalars(select(OutboxMessage).filter_by(template="renewal_request")))


def notify_from(page, client, portal: str = "certificateurs"):
    return client.post(
        "/account-expired/notify",
        data={"csrf_token": csrf_token_of(page.text), "portal": portal},
    )


def test_the_expired_page_offers_to_warn_the_administrator(certificateurs_rp, sign_in_as, client):
    sign_in_as(client, "bruno.petit")

    page, _ = certificateurs_rp.authorize()

    assert page.status_code == 403
    assert "Prévenir mon administrateur" in page.text
    assert 'action="/account-expired/notify"' in page.text


def test_r9_the_delegated_administrator_is_asked_to_renew_from_soltea(
    certificateurs_rp, sign_in_as, client, session
):
    sign_in_as(client, "bruno.petit")
    page, _ = certificateurs_rp.authorize()

    answer = notify_from(page, client)

    assert answer.status_code == 403  # still the expired page: the portal is not entered
    assert SENT in answer.text.replace("&#39;", "'")
    assert "alice" not in answer.text.lower()  # nobody is named
    assert "Prévenir mon administrateur</button>" not in answer.text
    (mail,) = requests_mailed(session)
    assert mail.recipient == "alice.martin@alpha.example"
    assert mail.subject == "Bruno Petit demande le renouvellement de son compte Certificateurs"
    assert "a expiré le 13/11/2026" in mail.text_body
    assert (
        "http://127.0.0.1:5001/administration/comptes?portail=certificateurs&structure=100001"
        in mail.text_body
    )
    (event,) = audit_events(session, "account.renewal_requested")
    assert event.after == {"structures": ["100001"], "recipients": 1}


def test_one_request_a_day(certificateurs_rp, sign_in_as, client, session, time_machine):
    sign_in_as(client, "bruno.petit")
    page, _ = certificateurs_rp.authorize()
    notify_from(page, client)

    again = notify_from(page, client)
    assert ALREADY_ASKED.replace("'", "&#39;") in again.text
    assert len(requests_mailed(session)) == 1

    time_machine.move_to(utcnow() + timedelta(hours=25), tick=False)
    sign_in_as(client, "bruno.petit")  # the session idled out meanwhile
    page, _ = certificateurs_rp.authorize()  # a form of the new session (issue 12 §3)
    notify_from(page, client)
    assert len(requests_mailed(session)) == 2


def test_a_structure_without_administrator_is_told_to_see_the_support(
    certificateurs_rp, sign_in_as, client, session
):
    alice_soltea = session.scalar(
        select(Account).join(User).join(Portal).where(
            User.username == "alice.martin", Portal.code == "soltea"
        )
    )  # fmt: skip
    alice_soltea.role = Role.USER  # no admin left anywhere for Alpha (direct or by R9)
    session.commit()
    sign_in_as(client, "bruno.petit")
    page, _ = certificateurs_rp.authorize()

    answer = notify_from(page, client)

    assert NOBODY.replace("'", "&#39;") in answer.text
    assert requests_mailed(session) == []


def test_only_a_person_whose_account_expired_can_ask(
    certificateurs_rp, soltea_rp, sign_in_as, client, session
):
    sign_in_as(client, "bruno.petit")
    page, _ = certificateurs_rp.authorize()

    valid_portal = notify_from(page, client, portal="soltea")
    unknown_portal = notify_from(page, client, portal="inconnu")
    without_token = client.post("/account-expired/notify", data={"portal": "certificateurs"})

    assert valid_portal.status_code == unknown_portal.status_code == 400
    assert without_token.status_code == 400
    assert requests_mailed(session) == []


def test_without_a_session_nothing_is_sent(app, session, demo):
    stranger = app.test_client()  # a CSRF token of its own, but no session

    answer = stranger.post(
        "/account-expired/notify",
        data={"csrf_token": csrf_token_of(stranger.get("/login").text), "portal": "certificateurs"},
    )

    assert answer.status_code == 400
    assert requests_mailed(session) == []
