"""Refresh-token rotation and reuse detection, tokens bound to the sign-in session, revocation
(RFC 7009) and introspection (RFC 7662)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.clock import utcnow
from hub.oidc import sessions
from hub.oidc.models import OAuthToken
from hub.oidc.secrets import digest
from tests.idp.oidc.conftest import ISSUER


def bearer_refused(portal, access_token: str) -> bool:
    response = portal.userinfo(access_token)
    challenge = response.headers.get("WWW-Authenticate", "")
    return response.status_code == 401 and challenge.startswith('Bearer error="invalid_token"')


def test_refresh_rotates_the_refresh_token(soltea_rp, sign_in_as, client, session):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()

    response = soltea_rp.refresh(tokens["refresh_token"])

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    renewed = response.get_json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert renewed["access_token"] != tokens["access_token"]
    assert renewed["expires_in"] == 300
    assert renewed["scope"] == tokens["scope"]
    assert "id_token" not in renewed  # portals read fresh claims from UserInfo
    assert soltea_rp.userinfo(renewed["access_token"]).status_code == 200
    rows = session.scalars(select(OAuthToken).order_by(OAuthToken.id)).all()
    assert len({row.family for row in rows}) == 1
    assert rows[0].refresh_used_at is not None
    assert rows[1].refresh_token_hash == digest(renewed["refresh_token"])


def test_a_reused_refresh_token_revokes_the_whole_family(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()
    renewed = soltea_rp.refresh(tokens["refresh_token"]).get_json()

    replay = soltea_rp.refresh(tokens["refresh_token"])

    assert replay.status_code == 400
    assert replay.get_json()["error"] == "invalid_grant"
    assert soltea_rp.refresh(renewed["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert bearer_refused(soltea_rp, renewed["access_token"])
    assert bearer_refused(soltea_rp, tokens["access_token"])


def test_a_refresh_can_narrow_the_scope_but_not_widen_it(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in(scope="openid profile")

    wider = soltea_rp.refresh(tokens["refresh_token"], scope="openid profile email")
    narrower = soltea_rp.refresh(tokens["refresh_token"], scope="openid")

    assert wider.get_json()["error"] == "invalid_scope"
    assert narrower.get_json()["scope"] == "openid"


def test_another_portals_refresh_token_is_refused(soltea_rp, certificateurs_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()

    stolen = certificateurs_rp.refresh(tokens["refresh_token"])

    assert stolen.get_json()["error"] == "invalid_grant"
    assert soltea_rp.refresh(tokens["refresh_token"]).status_code == 200  # still the owner's


def test_single_logout_ends_refresh_for_every_portal(
    soltea_rp, certificateurs_rp, sign_in_as, client, session
):
    browser_session = sign_in_as(client, "alice.martin")
    first, second = soltea_rp.sign_in(), certificateurs_rp.sign_in()

    sessions.end(session, browser_session, now=utcnow())
    session.commit()

    assert soltea_rp.refresh(first["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert certificateurs_rp.refresh(second["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert bearer_refused(soltea_rp, first["access_token"])


def test_refresh_stops_with_the_session_even_when_its_tokens_were_not_revoked(
    soltea_rp, sign_in_as, client, session
):
    browser_session = sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()
    session.merge(browser_session).ended_at = utcnow()  # e.g. ended by another hub instance
    session.commit()

    response = soltea_rp.refresh(tokens["refresh_token"])

    assert response.get_json() == {
        "error": "invalid_grant",
        "error_description": "The sign-in session has ended.",
    }


def test_refresh_tokens_die_with_the_session_lifetime(
    soltea_rp, sign_in_as, client, time_machine, settings
):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()
    # Used every 20 minutes, the session never idles out, but its absolute lifetime ends it.
    token, step = tokens["refresh_token"], timedelta(minutes=20)
    steps = int(timedelta(hours=settings.oidc.session_hours) / step)
    for _ in range(steps - 1):
        time_machine.move_to(utcnow() + step, tick=False)
        response = soltea_rp.refresh(token)
        assert response.status_code == 200, response.text
        token = response.get_json()["refresh_token"]
    time_machine.move_to(utcnow() + step, tick=False)

    assert soltea_rp.refresh(token).get_json()["error"] == "invalid_grant"


def test_access_tokens_expire_after_their_lifetime(soltea_rp, sign_in_as, client, time_machine):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()

    time_machine.move_to(utcnow() + timedelta(seconds=299), tick=False)
    assert soltea_rp.userinfo(tokens["access_token"]).status_code == 200
    time_machine.move_to(utcnow() + timedelta(seconds=1), tick=False)
    assert bearer_refused(soltea_rp, tokens["access_token"])


def test_userinfo_without_a_token_gets_a_bare_challenge(backend, demo):
    response = backend.get("/userinfo")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_userinfo_with_an_unknown_token_is_invalid_token(soltea_rp):
    assert bearer_refused(soltea_rp, "not-a-token")
    assert bearer_refused(soltea_rp, "x" * 5000)


def test_userinfo_accepts_the_token_in_a_posted_form(soltea_rp, sign_in_as, client, backend):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()

    response = backend.post("/userinfo", data={"access_token": tokens["access_token"]})

    assert response.status_code == 200
    assert response.get_json()["preferred_username"] == "alice.martin"


def test_revoking_a_refresh_token_revokes_its_grant(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()

    response = soltea_rp.revoke(tokens["refresh_token"], token_type_hint="refresh_token")

    assert response.status_code == 200
    assert soltea_rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert bearer_refused(soltea_rp, tokens["access_token"])


def test_revoking_an_access_token_revokes_its_grant(soltea_rp, sign_in_as, client):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()

    response = soltea_rp.revoke(tokens["access_token"])

    assert response.status_code == 200
    assert bearer_refused(soltea_rp, tokens["access_token"])
    assert soltea_rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_revoking_an_unknown_or_foreign_token_answers_200_and_changes_nothing(
    soltea_rp, certificateurs_rp, sign_in_as, client
):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()

    unknown = soltea_rp.revoke("no-such-token", token_type_hint="something_else")
    foreign = certificateurs_rp.revoke(tokens["access_token"])

    assert (unknown.status_code, foreign.status_code) == (200, 200)
    assert soltea_rp.userinfo(tokens["access_token"]).status_code == 200


def test_revocation_requires_client_authentication(soltea_rp, sign_in_as, client, backend):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()

    response = backend.post("/oauth/revoke", data={"token": tokens["access_token"]})

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert soltea_rp.userinfo(tokens["access_token"]).status_code == 200


def test_introspection_of_live_tokens(soltea_rp, sign_in_as, client, session):
    browser_session = sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()

    access = soltea_rp.introspect(tokens["access_token"]).get_json()
    refresh = soltea_rp.introspect(tokens["refresh_token"], token_type_hint="refresh_token")

    iat = tokens["claims"]["iat"]
    assert access == {
        "active": True,
        "scope": "openid profile email accounts",
        "client_id": "soltea",
        "username": "alice.martin",
        "sub": tokens["claims"]["sub"],
        "aud": "soltea",
        "iss": ISSUER,
        "exp": iat + 300,
        "iat": iat,
        "token_type": "Bearer",
        "sid": browser_session.sid,
    }
    assert refresh.get_json()["active"] is True
    assert refresh.get_json()["exp"] == int(browser_session.expires_at.timestamp())
    assert refresh.headers["Cache-Control"] == "no-store"


def test_introspection_says_inactive_for_dead_or_foreign_tokens(
    soltea_rp, certificateurs_rp, sign_in_as, client, time_machine
):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()
    renewed = soltea_rp.refresh(tokens["refresh_token"]).get_json()

    foreign = certificateurs_rp.introspect(renewed["access_token"]).get_json()
    used = soltea_rp.introspect(tokens["refresh_token"]).get_json()
    unknown = soltea_rp.introspect("no-such-token").get_json()
    time_machine.move_to(utcnow() + timedelta(seconds=301), tick=False)
    expired = soltea_rp.introspect(renewed["access_token"]).get_json()

    assert foreign == used == unknown == expired == {"active": False}


def test_introspection_requires_client_authentication(soltea_rp, sign_in_as, client, backend):
    sign_in_as(client, "alice.martin")
    tokens = soltea_rp.sign_in()

    response = backend.post(
        "/oauth/introspect",
        data={"token": tokens["access_token"]},
        headers={"Authorization": "Basic c29sdGVhOndyb25n"},  # soltea:wrong
    )

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
