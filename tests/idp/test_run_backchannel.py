"""`hub run` delivers back-channel logouts: a person logs out of the hub as `hub run` serves it, and
the portal's endpoint on 127.0.0.1 has received the logout token when the page comes back (the
logout request posts it; `hub run`'s worker thread only retries what that left)."""

from __future__ import annotations

import re

import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from hub.clock import utcnow
from hub.config import Oidc
from hub.oidc import sessions
from hub.oidc.clients import find_client
from hub.users.models import User
from idp.web.sessions import COOKIE_NAME
from tests.fixtures.portal_receiver import receiver as receiver  # the fixture, used by name
from tests.idp.test_run_cli import hub_run as hub_run  # the fixture, used by name


def test_hub_run_posts_the_logout_token_to_the_portal(hub_run, session, receiver):
    port = hub_run.port
    soltea = find_client(session, "soltea")
    soltea.backchannel_logout_uri = receiver.uri
    alice = session.scalar(select(User).filter_by(username="alice.martin"))
    signed_in = sessions.start(session, alice, now=utcnow(), lifetimes=Oidc())
    sessions.remember_client(session, signed_in.browser_session, soltea)
    session.commit()
    browser = requests.Session()
    browser.cookies.set(COOKIE_NAME, signed_in.cookie_value, domain="127.0.0.1")
    hub = f"http://127.0.0.1:{port}"

    question = browser.get(f"{hub}/logout", timeout=5)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', question.text)[1]
    logged_out = browser.post(f"{hub}/logout", data={"csrf_token": csrf, "confirm": "1"}, timeout=5)

    assert logged_out.status_code == 200
    assert "Vous êtes déconnecté." in logged_out.text
    (received,) = receiver.requests
    jwks = KeySet.import_key_set(requests.get(f"{hub}/jwks.json", timeout=5).json())
    token = jwt.decode(received.logout_token, jwks, algorithms=["RS256"])
    assert (token.claims["aud"], token.claims["sid"]) == ("soltea", signed_in.browser_session.sid)
