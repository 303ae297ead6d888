"""Signing keys across instances (issue 16): each instance keeps its keys in memory for up to
`RELOAD_SECONDS`, yet after a rotation no instance hides or refuses a key another one already
signs with. Two `KeyRing`s on one database stand for two instances."""

from __future__ import annotations

from datetime import timedelta

from joserfc.jws import extract_compact

from hub.actors import System
from hub.clock import utcnow
from hub.oidc import keys
from idp.oidc.signing import KeyRing


def kid_of(token: str) -> str:
    return extract_compact(token.encode()).headers()["kid"]


def test_a_key_another_instance_signs_with_is_published_and_verified_by_this_one(session):
    before_rotation, after_rotation = KeyRing(), KeyRing()
    old = kid_of(before_rotation.sign(session, {"sub": "x"}, alg="RS256"))

    keys.rotate(session, by=System("test"), now=utcnow(), grace=timedelta(hours=24))
    session.commit()
    token = after_rotation.sign(session, {"sub": "alice"}, alg="RS256")

    assert kid_of(token) != old
    assert kid_of(token) in {key["kid"] for key in before_rotation.jwks(session)["keys"]}
    assert before_rotation.verify(session, token) == {"sub": "alice"}
