"""Invitation links (R2 « Créer un compte » for a new person, R12 the person chooses their
password): signed with the hub's key, valid 7 days, good for one use."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.users.invitations import INVITATION_PATH, Invitations
from tests.factories import make_user

HUB = Invitations(secret_key="test-secret-key", public_url="http://127.0.0.1:5000/")


@pytest.fixture
def invited(session):
    user = make_user(session, first_name="Emile", last_name="Durand")
    session.commit()
    return user


def token_of(url: str) -> str:
    prefix = "http://127.0.0.1:5000" + INVITATION_PATH
    assert url.startswith(prefix), url
    return url.removeprefix(prefix)


def test_a_link_names_the_invited_person_until_it_expires(session, invited, now):
    invitation = HUB.link(invited, now=now)

    assert invitation.expires_at == now + timedelta(days=7)
    token = token_of(invitation.url)
    assert HUB.read(session, token, now=now + timedelta(days=6, hours=23)) is invited
    assert HUB.read(session, token, now=invitation.expires_at) is None


def test_a_link_works_once_choosing_a_password_ends_it(session, invited, now):
    token = token_of(HUB.link(invited, now=now).url)

    invited.password_hash = "$argon2id$chosen"
    session.commit()

    assert HUB.read(session, token, now=now) is None


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: "x" + token,
        lambda token: "",
        lambda token: "pas.un.jeton",
    ],
)
def test_a_forged_link_names_nobody(session, invited, now, tamper):
    token = token_of(HUB.link(invited, now=now).url)

    assert HUB.read(session, tamper(token), now=now) is None


def test_another_hubs_key_does_not_open_the_link(session, invited, now):
    token = token_of(HUB.link(invited, now=now).url)
    elsewhere = Invitations(secret_key="another-key", public_url="http://127.0.0.1:5000")

    assert elsewhere.read(session, token, now=now) is None
