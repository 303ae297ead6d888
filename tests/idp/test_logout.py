"""RP-initiated logout at `/logout` (OpenID Connect RP-Initiated Logout 1.0), as a portal and a
person's browser see it: redirects, pages, the session cookie, revoked tokens, the back-channel
logouts posted before the answer and the audit log."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from hub.actors import System
from hub.audit.models import AuditEvent
from hub.oidc import sessions
from hub.oidc.clients import find_client, register_client
from hub.oidc.models import BrowserSession, LogoutDelivery, OAuthToken
from hub.oidc.secrets import digest, new_secret
from idp.oidc.logout import CLIENT_MISMATCH, FOREIGN_HINT, LOGGED_OUT
from idp.oidc.signing import key_ring
from idp.web.sessions import COOKIE_NAME
from tests.fixtures.portal_receiver import receiver as receiver  # the fixture, used by name

ISSUER = "http://127.0.0.1:5000"
SOLTEA_HOME = "http://127.0.0.1:5001/"
CERTIFICATEURS_HOME = "http://127.0.0.1:5002/"
QUESTION = "Voulez-vous vous déconnecter du hub et de tous les portails ?"


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


@pytest.fixture
def portals(demo, session, receiver):
    """SOLTÉA and Certificateurs listening for back-channel logouts on `receiver`."""
    for client_id in ("soltea", "certificateurs"):
        find_client(session, client_id).backchannel_logout_uri = receiver.uri
    session.commit()


@pytest.fixture
def alice(client, portals, sign_in_as, session):
    """Alice signed in at the hub and, through it, at SOLTÉA and Certificateurs."""
    browser_session = sign_in_as(client, "alice.martin")
    for client_id in ("soltea", "certificateurs"):
        sessions.remember_client(session, browser_session, find_client(session, client_id))
    session.commit()
    return browser_session


def id_token_for(session, browser_session, *, aud="soltea", age=timedelta(0), **claims):
    """An ID token as the token endpoint issues it to `aud`, `age` old (5 minutes' validity)."""
    issued = browser_session.auth_time - age
    payload = {
        "iss": ISSUER,
        "sub": browser_session.user.public_id,
        "aud": aud,
        "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=5)).timestamp()),
        "auth_time": int(browser_session.auth_time.timestamp()),
        "nonce": "n-0S6_WzA2Mj",
        "sid": browser_session.sid,
    } | claims
    return key_ring.sign(session, payload, alg="RS256")


def logout_url(**params) -> str:
    return "/logout?" + urlencode(params)


def reloaded(session, browser_session) -> BrowserSession:
    session.rollback()  # a new snapshot: the app committed in its own session
    return session.get_one(BrowserSession, browser_session.id, populate_existing=True)


def page_text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def csrf_of(response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))[1]


def queued_for(session) -> list[str]:
    session.rollback()
    return sorted(d.client.client_id for d in session.scalars(select(LogoutDelivery)))


def notified(session, receiver) -> list[str]:
    """The portals whose back-channel endpoint received a logout token from the hub."""
    return sorted(key_ring.verify(session, r.logout_token)["aud"] for r in receiver.requests)


# --- with an id_token_hint naming the current session: no question asked ----------------------


def test_hint_for_the_current_session_logs_out_and_returns_to_the_portal_with_state(
    client, alice, session, now
):
    response = client.get(
        logout_url(
            id_token_hint=id_token_for(session, alice),
            post_logout_redirect_uri=SOLTEA_HOME,
            state="af0ifjsldkj",
            ui_locales="fr",
        )
    )

    assert response.status_code == 302
    assert response.headers["Location"] == SOLTEA_HOME + "?state=af0ifjsldkj"
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get_cookie(COOKIE_NAME) is None
    assert reloaded(session, alice).ended_at == now


def test_logout_tells_each_portal_before_answering_and_audits_it(client, alice, session, receiver):
    client.get(logout_url(id_token_hint=id_token_for(session, alice)))

    assert notified(session, receiver) == ["certificateurs", "soltea"]
    assert queued_for(session) == ["certificateurs", "soltea"]
    deliveries = session.scalars(select(LogoutDelivery)).all()
    assert all(d.delivered_at is not None for d in deliveries)  # none left to retry
    event = session.scalar(select(AuditEvent).filter_by(action="session.logout"))
    assert event.actor == "alice.martin"
    assert event.after == {"sid": alice.sid, "notified": ["certificateurs", "soltea"]}


def test_a_portal_without_back_channel_uri_is_not_notified(
    client, portals, sign_in_as, session, receiver, now
):
    quiet, _secret = register_client(
        session,
        by=System("test"),
        now=now,
        client_id="sans-backchannel",
        portal=find_client(session, "soltea").portal,
        redirect_uris=["http://127.0.0.1:5003/auth/callback"],
    )
    browser_session = sign_in_as(client, "bruno.petit")
    sessions.remember_client(session, browser_session, quiet)
    sessions.remember_client(session, browser_session, find_client(session, "soltea"))
    session.commit()

    response = client.get(
        logout_url(id_token_hint=id_token_for(session, browser_session, aud="sans-backchannel"))
    )

    assert response.status_code == 200
    assert notified(session, receiver) == ["soltea"]


def test_logout_revokes_the_tokens_issued_under_the_session(client, alice, session, now):
    token = OAuthToken(
        access_token_hash=digest(new_secret()),
        refresh_token_hash=digest(new_secret()),
        family=new_secret(12),
        client=find_client(session, "soltea"),
        user=alice.user,
        browser_session_id=alice.id,
        scope="openid",
        auth_time=now,
        issued_at=now,
        access_expires_at=now + timedelta(minutes=5),
        refresh_expires_at=now + timedelta(hours=10),
    )
    session.add(token)
    session.commit()

    client.get(logout_url(id_token_hint=id_token_for(session, alice)))

    session.rollback()
    assert session.get_one(OAuthToken, token.id, populate_existing=True).revoked_at == now


def test_an_expired_id_token_hint_is_accepted(client, alice, session):
    stale = id_token_for(session, alice, age=timedelta(hours=3))

    response = client.get(logout_url(id_token_hint=stale, post_logout_redirect_uri=SOLTEA_HOME))

    assert response.headers["Location"] == SOLTEA_HOME
    assert reloaded(session, alice).ended_at is not None


def test_a_portal_may_post_the_logout_request(client, alice, session):
    response = client.post(
        "/logout",
        data={
            "id_token_hint": id_token_for(session, alice),
            "post_logout_redirect_uri": SOLTEA_HOME,
            "state": "xyz",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"] == SOLTEA_HOME + "?state=xyz"
    assert reloaded(session, alice).ended_at is not None


def test_without_redirect_uri_the_hub_says_the_person_is_logged_out(client, alice, session):
    response = client.get(logout_url(id_token_hint=id_token_for(session, alice)))

    assert response.status_code == 200
    assert LOGGED_OUT in page_text(response)
    assert 'href="http://127.0.0.1:5001"' in response.get_data(as_text=True)  # back to SOLTÉA
    assert reloaded(session, alice).ended_at is not None


# --- post_logout_redirect_uri: the registered one, exactly, or no redirect at all ---------------


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:5001",  # registered with a trailing slash
        "http://127.0.0.1:5001/?next=https://evil.example",
        "http://127.0.0.1:5001/admin",
        "https://evil.example/",
        CERTIFICATEURS_HOME,  # registered, but for another portal than the hint's
    ],
)
def test_an_unregistered_redirect_uri_is_never_followed(client, alice, session, uri):
    response = client.get(
        logout_url(id_token_hint=id_token_for(session, alice), post_logout_redirect_uri=uri)
    )

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert LOGGED_OUT in page_text(response)
    assert reloaded(session, alice).ended_at is not None


def test_a_redirect_uri_without_hint_nor_client_id_is_not_followed(client, demo):
    response = client.get(logout_url(post_logout_redirect_uri=SOLTEA_HOME))

    assert response.status_code == 200
    assert LOGGED_OUT in page_text(response)


def test_state_joins_a_registered_uri_that_has_a_query(client, demo, session, now):
    portal = find_client(session, "soltea").portal
    register_client(
        session,
        by=System("test"),
        now=now,
        client_id="avec-requete",
        portal=portal,
        redirect_uris=["http://127.0.0.1:5003/cb"],
        post_logout_redirect_uris=["http://127.0.0.1:5003/bye?from=hub"],
    )
    session.commit()

    response = client.get(
        logout_url(
            client_id="avec-requete",
            post_logout_redirect_uri="http://127.0.0.1:5003/bye?from=hub",
            state="a b&c",
        )
    )

    assert response.headers["Location"] == "http://127.0.0.1:5003/bye?from=hub&state=a+b%26c"


# --- bad hints --------------------------------------------------------------------------------


def test_a_hint_not_signed_by_the_hub_is_refused_and_nothing_changes(client, alice, session):
    foreign_key = RSAKey.generate_key(2048, private=True)
    forged = jwt.encode(
        {"alg": "RS256", "kid": key_ring.jwks(session)["keys"][0]["kid"]},
        {"iss": ISSUER, "aud": "soltea", "sid": alice.sid, "sub": alice.user.public_id},
        foreign_key,
    )

    response = client.get(logout_url(id_token_hint=forged, post_logout_redirect_uri=SOLTEA_HOME))

    assert response.status_code == 400
    assert FOREIGN_HINT in page_text(response)
    assert "Location" not in response.headers
    assert reloaded(session, alice).ended_at is None
    assert queued_for(session) == []


@pytest.mark.parametrize("hint", ["not-a-jwt", "a.b.c", "eyJhbGciOiJub25lIn0.e30."])
def test_a_malformed_hint_is_refused(client, alice, session, hint):
    response = client.get(logout_url(id_token_hint=hint))

    assert response.status_code == 400
    assert FOREIGN_HINT in page_text(response)
    assert reloaded(session, alice).ended_at is None


def test_a_logout_token_is_no_id_token_hint(client, alice, session):
    logout_token = id_token_for(
        session, alice, events={"http://schemas.openid.net/event/backchannel-logout": {}}
    )

    response = client.get(logout_url(id_token_hint=logout_token))

    assert response.status_code == 400
    assert reloaded(session, alice).ended_at is None


def test_a_client_id_that_is_not_the_hints_audience_is_refused(client, alice, session):
    response = client.get(
        logout_url(
            id_token_hint=id_token_for(session, alice, aud="soltea"),
            client_id="certificateurs",
            post_logout_redirect_uri=CERTIFICATEURS_HOME,
        )
    )

    assert response.status_code == 400
    assert CLIENT_MISMATCH in page_text(response)
    assert reloaded(session, alice).ended_at is None


# --- without a hint for this session: the person confirms (no CSRF logout) ---------------------


def test_without_hint_the_person_is_asked_and_stays_signed_in(client, alice, session):
    response = client.get(
        logout_url(client_id="soltea", post_logout_redirect_uri=SOLTEA_HOME, state="s1")
    )

    assert response.status_code == 200
    text = page_text(response)
    assert QUESTION in text
    assert "Se déconnecter" in text
    assert 'method="post"' in response.get_data(as_text=True)
    assert reloaded(session, alice).ended_at is None
    assert client.get_cookie(COOKIE_NAME) is not None
    assert queued_for(session) == []


def test_confirming_logs_out_and_returns_to_the_portal(client, alice, session):
    question = client.get(
        logout_url(client_id="soltea", post_logout_redirect_uri=SOLTEA_HOME, state="s1")
    )

    response = client.post(
        "/logout",
        data={
            "csrf_token": csrf_of(question),
            "confirm": "1",
            "client_id": "soltea",
            "post_logout_redirect_uri": SOLTEA_HOME,
            "state": "s1",
        },
    )

    assert response.status_code == 303
    assert response.headers["Location"] == SOLTEA_HOME + "?state=s1"
    assert reloaded(session, alice).ended_at is not None
    assert queued_for(session) == ["certificateurs", "soltea"]


def test_a_confirmation_without_the_csrf_token_logs_nobody_out(client, alice, session):
    client.get("/logout")  # the browser has a CSRF token, the forged form does not send it

    response = client.post("/logout", data={"confirm": "1"})

    assert response.status_code == 400
    assert reloaded(session, alice).ended_at is None


def test_a_post_without_hint_nor_confirmation_only_asks(client, alice, session):
    response = client.post("/logout", data={"client_id": "soltea"})

    assert response.status_code == 200
    assert QUESTION in page_text(response)
    assert reloaded(session, alice).ended_at is None


def test_a_hint_about_an_older_session_asks_before_ending_the_current_one(
    client, alice, sign_in_as, session
):
    old_hint = id_token_for(session, alice)
    current = sign_in_as(client, "alice.martin")  # signed in again since

    response = client.get(logout_url(id_token_hint=old_hint))

    assert QUESTION in page_text(response)
    assert reloaded(session, current).ended_at is None


def test_without_a_session_the_portal_gets_its_redirect_at_once(client, demo):
    response = client.get(
        logout_url(client_id="soltea", post_logout_redirect_uri=SOLTEA_HOME, state="s2")
    )

    assert response.status_code == 302
    assert response.headers["Location"] == SOLTEA_HOME + "?state=s2"


def test_an_idle_session_counts_as_none(client, alice, session, time_machine, now):
    time_machine.move_to(now + timedelta(hours=1), tick=False)

    response = client.get(logout_url(client_id="soltea", post_logout_redirect_uri=SOLTEA_HOME))

    assert response.headers["Location"] == SOLTEA_HOME
    assert queued_for(session) == []
