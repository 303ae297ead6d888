"""R14 « Mot de passe oublié » and changing one's password (issue 6 §2): the same answer whether
the identifiant exists or not, a temporary password by mail (random, single-use, 24 h) that
obliges the person to choose a new one first, the old password working until then, the
password policy, throttling, CSRF, and a mail whenever the password changes."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from hub.clock import utcnow
from hub.demo import DEMO_PASSWORD
from hub.mail.models import OutboxMessage
from hub.users.models import User
from idp.auth.passwords import CHANGED, CURRENT_WRONG, SENT, TOO_MANY_REQUESTS
from tests.idp.signing_in import audit_events, csrf_token_of, submit_login

NEW_PASSWORD = "Vingt-Trois-Novembre-26"
AUTHORIZE = (
    "/authorize?response_type=code&client_id=soltea&redirect_uri=http%3A%2F%2F127.0.0.1%3A5001"
    "%2Fauth%2Fcallback&scope=openid&state=s&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuG"
    "JSstw-cM&code_challenge_method=S256"
)
TEMPORARY = re.compile(r"Mot de passe temporaire : (\S+)")


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


def ask_for_a_temporary_password(client, login: str, *, address: str = "192.0.2.10"):
    environ = {"REMOTE_ADDR": address}
    page = client.get("/password/forgot", environ_base=environ)
    return client.post(
        "/password/forgot",
        data={"csrf_token": csrf_token_of(page.text), "login": login},
        environ_base=environ,
    )


def mails_to(session, address: str, template: str) -> list[OutboxMessage]:
    session.rollback()
    return list(
        session.scalars(select(OutboxMessage).filter_by(recipient=address, template=template)).all()
    )


def temporary_password_of(session, address: str) -> str:
    (mail,) = mails_to(session, address, "password_temporary")
    return TEMPORARY.search(mail.text_body).group(1)


def choose(client, path: str, password: str, confirmation: str | None = None, **fields: str):
    page = client.get(path)
    data = {
        "csrf_token": csrf_token_of(page.text),
        "password": password,
        "password_confirmation": password if confirmation is None else confirmation,
        **fields,
    }
    return client.post(path, data=data)


def test_known_and_unknown_identifiants_get_the_same_answer(client, session, demo):
    known = ask_for_a_temporary_password(client, "alice.martin")
    unknown = ask_for_a_temporary_password(client, "personne.inconnue")

    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/password/forgot/sent"
    assert SENT.replace("'", "&#39;") in client.get(known.headers["Location"]).text
    assert len(mails_to(session, "alice.martin@alpha.example", "password_temporary")) == 1
    assert len(session.scalars(select(OutboxMessage)).all()) == 1
    unknown_requests = audit_events(session, "user.password_reset_unknown")
    assert [event.after["identifiant"] for event in unknown_requests] == ["personne.inconnue"]


def test_the_mail_gives_the_identifiant_and_a_temporary_password_valid_24_hours(
    client, session, demo
):
    ask_for_a_temporary_password(client, "alice.martin@alpha.example")

    (mail,) = mails_to(session, "alice.martin@alpha.example", "password_temporary")
    assert mail.subject == "Votre mot de passe temporaire"
    assert "Identifiant : alice.martin" in mail.text_body
    assert "valable 24 heures, jusqu'au 24/11/2026 à 11:00" in mail.text_body  # Paris time
    assert re.fullmatch(r"(\w{4}-){3}\w{4}", temporary_password_of(session, mail.recipient))


def test_the_old_password_works_until_the_temporary_one_is_used(client, session, demo):
    ask_for_a_temporary_password(client, "alice.martin")

    response = submit_login(client, "alice.martin", DEMO_PASSWORD, next=AUTHORIZE)

    assert response.headers["Location"] == AUTHORIZE


def test_the_temporary_password_leads_to_choosing_a_new_one_before_anything_else(
    client, session, demo
):
    ask_for_a_temporary_password(client, "alice.martin")
    temporary = temporary_password_of(session, "alice.martin@alpha.example")

    signed_in = submit_login(client, "alice.martin", temporary, next=AUTHORIZE)
    authorize = client.get(AUTHORIZE)
    silent = client.get(AUTHORIZE + "&prompt=none")
    page = client.get(signed_in.headers["Location"])

    assert signed_in.status_code == 303
    assert signed_in.headers["Location"].startswith("/password/new?next=")
    assert authorize.status_code == 302
    assert authorize.headers["Location"].startswith("/password/new?next=")
    assert "error=interaction_required" in silent.headers["Location"]
    assert "Choisissez votre nouveau mot de passe" in page.text
    assert "au moins 12 caractères" in page.text
    assert client.get("/").headers["Location"] == "/password/new"


def test_choosing_the_new_password_resumes_the_sign_in_and_replaces_both(client, session, demo):
    ask_for_a_temporary_password(client, "alice.martin")
    temporary = temporary_password_of(session, "alice.martin@alpha.example")
    signed_in = submit_login(client, "alice.martin", temporary, next=AUTHORIZE)

    chosen = choose(client, signed_in.headers["Location"], NEW_PASSWORD)

    assert chosen.status_code == 303
    assert chosen.headers["Location"] == AUTHORIZE
    assert client.get(AUTHORIZE).headers["Location"].startswith("http://127.0.0.1:5001/auth/")
    other = client.application.test_client()
    assert submit_login(other, "alice.martin", NEW_PASSWORD).status_code == 303
    for old in (DEMO_PASSWORD, temporary):
        assert submit_login(other, "alice.martin", old).status_code == 200  # refused
    (changed,) = mails_to(session, "alice.martin@alpha.example", "password_changed")
    assert "a été modifié le 23/11/2026 à 11:00" in changed.text_body
    assert len(audit_events(session, "user.password_change")) == 1


def test_a_temporary_password_serves_once(client, session, demo):
    ask_for_a_temporary_password(client, "alice.martin")
    temporary = temporary_password_of(session, "alice.martin@alpha.example")
    submit_login(client, "alice.martin", temporary)

    again = submit_login(client.application.test_client(), "alice.martin", temporary)

    assert again.status_code == 200  # the sign-in form again, with the generic message


def test_a_temporary_password_expires_after_24_hours(client, session, demo, time_machine):
    ask_for_a_temporary_password(client, "alice.martin")
    temporary = temporary_password_of(session, "alice.martin@alpha.example")
    time_machine.move_to(utcnow() + timedelta(hours=24, seconds=1), tick=False)

    assert submit_login(client, "alice.martin", temporary).status_code == 200


def test_signing_in_with_the_own_password_lifts_the_obligation(client, session, demo):
    ask_for_a_temporary_password(client, "alice.martin")
    submit_login(
        client, "alice.martin", temporary_password_of(session, "alice.martin@alpha.example")
    )

    response = submit_login(client, "alice.martin", DEMO_PASSWORD, next=AUTHORIZE)

    assert response.headers["Location"] == AUTHORIZE
    session.rollback()
    assert not session.scalar(select(User).filter_by(username="alice.martin")).password_must_change


@pytest.mark.parametrize(
    ("password", "confirmation", "message"),
    [
        ("Court-1a", None, "au moins 12 caractères"),
        ("toutenminusculesici", None, "au moins 3 types de caractères"),
        ("Alice.Martin-2026", None, "ni votre identifiant ni votre adresse e-mail"),
        ("Azerty123456!", None, "trop courant"),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "ne sont pas identiques"),
    ],
)
def test_a_weak_or_mistyped_password_is_refused_with_a_clear_message(
    password, confirmation, message, client, session, demo
):
    ask_for_a_temporary_password(client, "alice.martin")
    temporary = temporary_password_of(session, "alice.martin@alpha.example")
    path = submit_login(client, "alice.martin", temporary).headers["Location"]

    refused = choose(client, path, password, confirmation)

    assert refused.status_code == 200
    assert message in refused.text.replace("&#39;", "'")
    assert 'aria-invalid="true"' in refused.text
    assert mails_to(session, "alice.martin@alpha.example", "password_changed") == []


def test_requests_are_throttled_per_identifiant_known_or_not(client, session, demo):
    for login in ("alice.martin", "personne.inconnue"):
        answers = [ask_for_a_temporary_password(client, login).status_code for _ in range(6)]

        assert answers[:3] == [303, 303, 303]
        assert answers[-1] == 429
    mails = mails_to(session, "alice.martin@alpha.example", "password_temporary")
    assert len(mails) < 6
    throttled = ask_for_a_temporary_password(client, "alice.martin")
    assert TOO_MANY_REQUESTS in throttled.text
    assert int(throttled.headers["Retry-After"]) > 0


def test_asking_for_a_temporary_password_needs_the_forms_csrf_token(client, session, demo):
    response = client.post("/password/forgot", data={"login": "alice.martin"})

    assert response.status_code == 400
    assert mails_to(session, "alice.martin@alpha.example", "password_temporary") == []


def test_a_signed_in_person_changes_their_password_with_the_current_one(
    client, sign_in_as, session, demo
):
    sign_in_as(client, "alice.martin")
    path = "/password/change?portal=soltea"

    wrong = choose(client, path, NEW_PASSWORD, current_password="pas-le-bon")
    changed = choose(client, path, NEW_PASSWORD, current_password=DEMO_PASSWORD)

    assert CURRENT_WRONG in wrong.text
    assert changed.status_code == 200
    assert CHANGED in changed.text
    assert 'href="http://127.0.0.1:5001"' in changed.text  # « Retourner sur SOLTÉA »
    other = client.application.test_client()
    assert submit_login(other, "alice.martin", NEW_PASSWORD).status_code == 303


def test_changing_the_password_needs_a_session(client, demo):
    response = client.get("/password/change?portal=soltea")

    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fpassword%2Fchange%3Fportal%3Dsoltea"


def test_the_sign_in_page_links_to_the_forgotten_password_page_keeping_next(client, demo):
    page = client.get("/login", query_string={"next": AUTHORIZE})

    link = re.search(r'<a href="([^"]+)">Mot de passe oublié \?</a>', page.text).group(1)
    assert urlsplit(html.unescape(link)).path == "/password/forgot"
    assert parse_qs(urlsplit(html.unescape(link)).query)["next"] == [AUTHORIZE]
