"""Fixtures of the portal kit's unit-level tests: a portal app (SOLTÉA or Certificateurs) on
its own SQLite file, pointed at a small OpenID provider party on loopback, and a way to give a
test client a signed-in portal session holding the claims a test needs."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portals import certificateurs, soltea
from portals.kit.clock import utcnow
from portals.kit.config import PortalConfig
from portals.kit.extension import EXTENSION
from portals.kit.sessions import store
from portals.kit.sessions.store import SignIn
from tests.fixtures.ports import closed_port
from tests.portals.oidc_party import OidcParty, running_party


@pytest.fixture(scope="session")
def oidc_party() -> Iterator[OidcParty]:
    with running_party() as party:
        yield party


@pytest.fixture
def closed_port_issuer() -> str:
    """An issuer nobody answers at: the hub is down."""
    return f"http://127.0.0.1:{closed_port()}"


def portal_config(identity: Any, tmp_path: Any, issuer: str, **overrides: Any) -> PortalConfig:
    return PortalConfig.from_env(
        identity, environ={}, issuer=issuer, instance_path=tmp_path / identity.code, **overrides
    )


@pytest.fixture
def make_app(tmp_path, oidc_party) -> Callable[..., Flask]:
    def make(portal: str = "soltea", *, issuer: str | None = None, **overrides: Any) -> Flask:
        package = {"soltea": soltea, "certificateurs": certificateurs}[portal]
        config = portal_config(package.IDENTITY, tmp_path, issuer or oidc_party.issuer, **overrides)
        return package.create_app(config, TESTING=True)

    return make


@pytest.fixture
def app(make_app) -> Flask:
    return make_app("soltea")


@pytest.fixture
def client(app) -> FlaskClient:
    return app.test_client()


def account(
    *,
    role: str = "user",
    rights: tuple[str, ...] = ("data_exchange",),
    expired: bool = False,
    via: str | None = None,
    matricule: str = "100001",
    name: str = "Organisme Alpha Formation",
    deposits_for: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """One entry of the hub's `accounts` claim (README « OpenID Connect »); `deposits_for`
    as (matricule, name) pairs."""
    expires_at = utcnow() + (timedelta(days=-10) if expired else timedelta(days=365))
    return {
        "deposits_for": [
            {"matricule": m, "name": n, "siret": "20000020600017"} for m, n in deposits_for
        ],
        "structure": {"matricule": matricule, "name": name, "siret": "10000010800017"},
        "role": role,
        "via": via,
        "rights": list(rights),
        "expires_at": expires_at.isoformat(),
        "expired": expired,
    }


def claims(*accounts: dict[str, Any], sub: str = "sub-alice") -> dict[str, Any]:
    return {
        "sub": sub,
        "name": "Alice Martin",
        "given_name": "Alice",
        "family_name": "Martin",
        "preferred_username": "alice.martin",
        "email": "alice.martin@alpha.example",
        "accounts": list(accounts),
    }


def sign_in(
    app: Flask,
    client: FlaskClient,
    person_claims: dict[str, Any],
    *,
    sid: str = "sid-1",
    claims_age: timedelta = timedelta(0),
    key: str | None = None,
) -> str:
    """Stores a portal session holding a sign-in (as the callback would after the hub's
    answer) and gives `client` its cookie; returns the session key."""
    kit = app.extensions[EXTENSION]
    now = utcnow()
    key = key or f"key-{sid}-{person_claims['sub']}"
    record = SignIn(
        sid=sid,
        sub=person_claims["sub"],
        access_token=f"access-{key}",
        refresh_token=f"refresh-{key}",
        id_token="id-token",
        access_expires_at=now + timedelta(minutes=5),
        claims=person_claims,
        claims_read_at=now - claims_age,
    )
    store.create(kit.engine, store.key_hash(key), {}, record, now=now)
    cookie = app.session_interface.signer.sign(key).decode()
    client.set_cookie(kit.config.cookie_name, cookie, domain="localhost")
    return key


def session_exists(app: Flask, key: str) -> bool:
    kit = app.extensions[EXTENSION]
    return store.load(kit.engine, store.key_hash(key), now=utcnow()) is not None


def page_text(response: Any) -> str:
    """What a person reads: the HTML with its entities decoded (« n'a » is « n&#39;a »)."""
    return html.unescape(response.get_data(as_text=True))
