"""The authorization code flow as a portal drives it (OpenID Connect Core §3.1, PKCE S256,
RFC 9207): the code, the ID token checked against the JWKS, UserInfo, single sign-on, and the
`prompt` / `max_age` / `login_hint` parameters."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from hub.clock import utcnow
from hub.oidc.models import AuthorizationCode, SessionClient
from hub.users.models import User
from tests.idp.oidc.conftest import ISSUER, Portal, query_of
from tests.idp.signing_in import next_of, submit_login


def sign_in_form(response) -> dict[str, str]:
    """The sign-in form the hub shows in place of a code (posted to `/login`), and the request
    it comes back to once the person is signed in."""
    assert response.status_code == 200, response.text[:300]
    page = response.text
    assert '<form method="post" action="/login">' in page
    assert 'type="password"' in page
    next_url = next_of(page)
    assert next_url.startswith("/authorize?")
    return {k: v[0] for k, v in parse_qs(urlsplit(next_url).query).items()}


def test_code_flow_with_pkce_gives_verified_id_token_and_userinfo(
    soltea_rp, sign_in_as, client, session
):
    browser_session = sign_in_as(client, "alice.martin")

    tokens = soltea_rp.sign_in()

    alice = session.scalar(select(User).filter_by(username="alice.martin"))
    claims = tokens["claims"]
    assert claims["sub"] == alice.public_id
    assert claims["sid"] == browser_session.sid
    assert claims["auth_time"] == int(browser_session.auth_time.timestamp())
    assert claims["exp"] - claims["iat"] == 300  # as long as the access token
    assert tokens["header"]["alg"] == "RS256"
    assert (claims["name"], claims["preferred_username"]) == ("Alice Martin", "alice.martin")
    assert claims["email"] == "alice.martin@alpha.example"
    assert "accounts" not in claims  # UserInfo only
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 300
    assert tokens["refresh_token"]
    assert tokens["scope"] == "openid profile email accounts"
    info = soltea_rp.userinfo(tokens["access_token"])
    assert info.status_code == 200
    assert info.headers["Cache-Control"] == "no-store"
    assert info.get_json() | {"accounts": None} == {
        "sub": alice.public_id,
        "name": "Alice Martin",
        "given_name": "Alice",
        "family_name": "Martin",
        "preferred_username": "alice.martin",
        "email": "alice.martin@alpha.example",
        "email_verified": True,
        "accounts": None,
    }


def test_the_token_response_is_never_cached(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")
    code, authorization = soltea_rp.code()

    response = soltea_rp.exchange(code, authorization.verifier)

    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    assert response.mimetype == "application/json"


def test_only_the_digest_of_a_code_is_stored(soltea_rp, sign_in_as, client, session):
    sign_in_as(client, "alice.martin")

    code, _ = soltea_rp.code()

    stored = session.scalars(select(AuthorizationCode.code_hash)).all()
    assert len(stored) == 1
    assert code not in stored[0]


def test_scopes_limit_the_claims(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")

    tokens = soltea_rp.sign_in(scope="openid")

    assert set(tokens["claims"]) == {
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "at_hash",
        "sid",
    }
    assert set(soltea_rp.userinfo(tokens["access_token"]).get_json()) == {"sub"}


def test_client_secret_post_works_as_well_as_basic(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")
    code, authorization = soltea_rp.code()

    response = soltea_rp.exchange_in_form(code, authorization.verifier)

    assert response.status_code == 200, response.text
    assert response.get_json()["id_token"]


def test_the_authorization_request_may_be_posted(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")
    authorization = soltea_rp.authorization()

    response = client.post("/authorize", data=authorization.params)

    params = soltea_rp.callback(response)
    assert (params["state"], params["iss"]) == (authorization.state, ISSUER)
    assert soltea_rp.exchange(params["code"], authorization.verifier).status_code == 200


def test_single_sign_on_second_portal_without_sign_in(
    soltea_rp, certificateurs_rp, sign_in_as, client, session
):
    browser_session = sign_in_as(client, "alice.martin")
    first = soltea_rp.sign_in()

    second = certificateurs_rp.sign_in()  # no redirect to /login: the same hub session

    assert first["claims"]["sid"] == second["claims"]["sid"] == browser_session.sid
    assert first["claims"]["sub"] == second["claims"]["sub"]
    assert second["claims"]["aud"] == "certificateurs"
    session.expire_all()
    signed_in_to = session.scalars(
        select(SessionClient).filter_by(browser_session_id=browser_session.id)
    ).all()
    assert sorted(link.client.client_id for link in signed_in_to) == ["certificateurs", "soltea"]


def test_without_a_session_the_person_signs_in_for_the_portal_and_comes_back(soltea_rp):
    response, authorization = soltea_rp.authorize()

    back = sign_in_form(response)
    assert back == authorization.params
    assert '<h1 id="titre">Connexion à SOLTÉA</h1>' in response.text
    assert response.headers["Cache-Control"] == "no-store"


def test_login_hint_reaches_the_sign_in_page(soltea_rp):
    response, _ = soltea_rp.authorize(login_hint="bruno.petit")

    assert sign_in_form(response)["login_hint"] == "bruno.petit"
    assert 'name="username" type="text" value="bruno.petit"' in response.text


def test_prompt_none_with_a_session_returns_a_code(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")

    tokens = soltea_rp.sign_in(prompt="none")

    assert tokens["id_token"]


def test_prompt_none_without_a_session_is_login_required(soltea_rp):
    response, authorization = soltea_rp.authorize(prompt="none")

    params = soltea_rp.callback(response)
    assert params["error"] == "login_required"
    assert (params["state"], params["iss"]) == (authorization.state, ISSUER)
    assert "code" not in params


def test_prompt_login_asks_again_and_drops_itself_from_the_way_back(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")

    response, authorization = soltea_rp.authorize(prompt="login")

    back = sign_in_form(response)
    assert "prompt" not in back
    assert back == {k: v for k, v in authorization.params.items() if k != "prompt"}


def test_prompt_login_keeps_other_prompt_values(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")

    response, _ = soltea_rp.authorize(prompt="login consent")

    assert sign_in_form(response)["prompt"] == "consent"


def test_prompt_consent_is_satisfied_for_first_party_portals(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")

    assert soltea_rp.sign_in(prompt="consent")["id_token"]


def test_prompt_create_sends_to_registration_for_the_portal(soltea_rp):
    response, authorization = soltea_rp.authorize(prompt="create")

    assert response.status_code == 302
    location = response.headers["Location"]
    assert urlsplit(location).path == "/register"
    query = query_of(location)
    assert query["portal"] == "soltea"
    back = query_of(query["next"])
    assert "prompt" not in back
    assert back["state"] == authorization.state


def test_max_age_exceeded_asks_to_sign_in_again(soltea_rp, sign_in_as, client, time_machine):
    sign_in_as(client, "alice.martin")
    time_machine.move_to(utcnow() + timedelta(minutes=10), tick=False)

    too_old, _ = soltea_rp.authorize(max_age="300")
    recent_enough = soltea_rp.sign_in(max_age="3600")
    silent, _ = soltea_rp.authorize(max_age="300", prompt="none")

    assert sign_in_form(too_old)["max_age"] == "300"
    assert recent_enough["id_token"]
    assert soltea_rp.callback(silent)["error"] == "login_required"


def test_an_ended_session_is_no_session(soltea_rp, sign_in_as, client, session):
    from hub.oidc import sessions

    browser_session = sign_in_as(client, "alice.martin")
    sessions.end(session, browser_session, now=utcnow())
    session.commit()

    response, _ = soltea_rp.authorize()

    sign_in_form(response)


def test_an_idle_session_is_no_session(soltea_rp, sign_in_as, client, time_machine, settings):
    sign_in_as(client, "alice.martin")
    idle = timedelta(minutes=settings.oidc.session_idle_minutes + 1)
    time_machine.move_to(utcnow() + idle, tick=False)

    response, _ = soltea_rp.authorize()

    sign_in_form(response)


def test_es256_clients_get_es256_id_tokens(soltea_rp, sign_in_as, client, session):
    from hub.oidc.clients import find_client

    find_client(session, "soltea").id_token_signed_response_alg = "ES256"
    session.commit()
    sign_in_as(client, "alice.martin")

    tokens = soltea_rp.sign_in()

    assert tokens["header"]["alg"] == "ES256"


def test_signing_in_on_the_hubs_page_resumes_the_authorization(soltea_rp, client):
    response, authorization = soltea_rp.authorize(login_hint="alice.martin")
    signed_in = submit_login(client, "alice.martin", next=next_of(response.text))
    assert signed_in.status_code == 303
    params = soltea_rp.callback(client.get(signed_in.headers["Location"]))

    assert (params["state"], params["iss"]) == (authorization.state, ISSUER)
    tokens = soltea_rp.exchange(params["code"], authorization.verifier)
    assert tokens.status_code == 200


def test_prompt_login_ends_with_a_new_sign_in(soltea_rp, sign_in_as, client, time_machine):
    first = sign_in_as(client, "alice.martin")
    time_machine.move_to(utcnow() + timedelta(minutes=5), tick=False)
    response, authorization = soltea_rp.authorize(prompt="login")

    signed_in = submit_login(client, "alice.martin", next=next_of(response.text))
    params = soltea_rp.callback(client.get(signed_in.headers["Location"]))
    tokens = soltea_rp.exchange(params["code"], authorization.verifier).get_json()
    _, claims = soltea_rp.verify_id_token(tokens, nonce=authorization.nonce)

    assert claims["sid"] != first.sid
    assert claims["auth_time"] == int(utcnow().timestamp())


def test_an_id_token_hint_naming_the_signed_in_person_gets_a_code(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")
    earlier = soltea_rp.sign_in()

    again = soltea_rp.sign_in(prompt="none", id_token_hint=earlier["id_token"])

    assert again["claims"]["sub"] == earlier["claims"]["sub"]


def test_an_id_token_hint_naming_someone_else_is_not_this_session(
    app, soltea_rp, sign_in_as, client
):
    """OpenID Connect Core §3.1.2.1: the portal means Bruno, the browser is Alice's: no code for
    Alice; `login_required` silently, the sign-in form otherwise."""
    other_browser = app.test_client()
    sign_in_as(other_browser, "bruno.petit")
    brunos = Portal("soltea", other_browser, soltea_rp.backend).sign_in()["id_token"]
    sign_in_as(client, "alice.martin")

    silent, _ = soltea_rp.authorize(prompt="none", id_token_hint=brunos)
    interactive, _ = soltea_rp.authorize(id_token_hint=brunos)

    assert soltea_rp.callback(silent)["error"] == "login_required"
    sign_in_form(interactive)


@pytest.mark.parametrize("hint", ["not-a-jwt", "tampered", "another-portals"])
def test_an_id_token_hint_the_hub_did_not_issue_to_this_portal_is_invalid(
    hint, soltea_rp, certificateurs_rp, sign_in_as, client
):
    sign_in_as(client, "alice.martin")
    tokens = {
        "not-a-jwt": "abc.def.ghi",
        "tampered": soltea_rp.sign_in()["id_token"][:-4] + "AAAA",
        "another-portals": certificateurs_rp.sign_in()["id_token"],
    }

    response, authorization = soltea_rp.authorize(id_token_hint=tokens[hint])

    params = soltea_rp.callback(response)
    assert (params["error"], params["state"]) == ("invalid_request", authorization.state)
