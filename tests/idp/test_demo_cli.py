"""`hub demo` loads exactly DESIGN.md §4, and loading it again changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from hub.accounts import policies
from hub.accounts.models import Account, Right, Role
from hub.audit.models import AuditEvent
from hub.clock import add_months
from hub.demo import DEMO_PASSWORD
from hub.oidc.clients import all_clients, secret_matches
from hub.passwords import verify_password
from hub.portals.models import DelegationRule, Portal
from hub.structures.models import Contract, Structure
from hub.users.models import User
from idp.cli import cli
from tests.conftest import LIGHT_HASHING


@pytest.fixture
def hub(app, now, time_machine):
    time_machine.move_to(now, tick=False)
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(cli, list(args))


def demo_state(session):
    """Everything §4 speaks of, in plain values."""
    portals = session.scalars(select(Portal).order_by(Portal.code)).all()
    structures = session.scalars(select(Structure).order_by(Structure.matricule)).all()
    accounts = session.scalars(select(Account).order_by(Account.id)).all()
    return {
        "portals": [(p.code, p.name, p.base_url, p.validity_months) for p in portals],
        "delegations": [
            (r.source_portal.code, r.target_portal.code)
            for r in session.scalars(select(DelegationRule)).all()
        ],
        "structures": [
            (s.matricule, s.siret, s.name, sorted((c.portal.code, c.number) for c in s.contracts))
            for s in structures
        ],
        "people": [
            (u.username, u.civility.value, u.first_name, u.last_name, u.email)
            for u in session.scalars(select(User).order_by(User.username)).all()
        ],
        "accounts": [
            (
                a.user.username,
                a.structure.matricule,
                a.portal.code,
                a.role.value,
                a.is_first_admin,
                sorted(a.rights),
                a.expires_at,
            )
            for a in accounts
        ],
    }


def test_hub_demo_loads_the_design_data_set(hub, app, session, now):
    result = hub("demo")

    assert result.exit_code == 0, result.output
    assert "Données de démonstration chargées" in result.output
    assert f"mot de passe : {DEMO_PASSWORD}" in result.output
    state = demo_state(session)
    assert state["portals"] == [
        ("certificateurs", "Certificateurs", "http://127.0.0.1:5002", 18),
        ("soltea", "SOLTÉA", "http://127.0.0.1:5001", 18),
    ]
    assert state["delegations"] == [("soltea", "certificateurs")]
    assert state["structures"] == [
        (
            "100001",
            "10000010800017",
            "Organisme Alpha Formation",
            [("certificateurs", "CER-100001"), ("soltea", "SOL-100001")],
        ),
        ("100002", "20000020600017", "Certif Beta", [("certificateurs", "CER-100002")]),
        (
            "100003",
            "30000030400018",
            "Gamma Dépôts (tiers de confiance)",
            [("certificateurs", "CER-100003")],
        ),
    ]
    assert state["people"] == [
        ("alice.martin", "Mme", "Alice", "Martin", "alice.martin@alpha.example"),
        ("bruno.petit", "M.", "Bruno", "Petit", "bruno.petit@alpha.example"),
        ("chloe.roux", "Mme", "Chloé", "Roux", "chloe.roux@alpha.example"),
        ("emma.leroy", "Mme", "Emma", "Leroy", "emma.leroy@alpha.example"),
    ]
    data_exchange = [Right.DATA_EXCHANGE]
    assert sorted(state["accounts"]) == sorted(
        [
            ("alice.martin", "100001", "soltea", "admin", True, data_exchange, add_months(now, 12)),
            ("bruno.petit", "100001", "soltea", "user", False, data_exchange, add_months(now, 15)),
            (
                "bruno.petit",
                "100001",
                "certificateurs",
                "user",
                False,
                data_exchange,
                now - timedelta(days=10),
            ),
            ("chloe.roux", "100001", "certificateurs", "user", False, [], add_months(now, 17)),
            (
                "emma.leroy",
                "100001",
                "certificateurs",
                "user",
                False,
                data_exchange,
                add_months(now, 16),
            ),
        ]
    )


def test_the_demo_people_sign_in_with_the_published_password(hub, session):
    hub("demo")

    for user in session.scalars(select(User)).all():
        assert verify_password(user.password_hash, DEMO_PASSWORD, LIGHT_HASHING), user.username
        assert user.email_verified


def test_r9_holds_in_the_demo_data(hub, session, now):
    hub("demo")
    alice = session.scalar(select(User).filter_by(username="alice.martin"))

    grants = policies.administered(session, alice, now=now)

    assert [(g.portal.code, g.structure.matricule, g.via and g.via.code) for g in grants] == [
        ("soltea", "100001", None),
        ("certificateurs", "100001", "soltea"),
    ]


def test_hub_demo_twice_leaves_exactly_the_data_set(hub, session, time_machine, now):
    hub("demo")
    first = demo_state(session)
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    session.rollback()

    time_machine.move_to(now + timedelta(hours=1), tick=False)
    result = hub("demo")

    assert result.exit_code == 0, result.output
    assert "Données de démonstration déjà présentes : rien à faire." in result.output
    assert demo_state(session) == first
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_hub_demo_reset_starts_over(hub, session, now):
    hub("demo")
    session.execute(
        Account.__table__.update().values(role=Role.USER, expires_at=now - timedelta(days=400))
    )
    session.execute(Contract.__table__.delete().where(Contract.number == "CER-100003"))
    session.commit()

    result = hub("demo", "--reset")

    assert result.exit_code == 0, result.output
    state = demo_state(session)
    assert ("alice.martin", "100001", "soltea", "admin") in [a[:4] for a in state["accounts"]]
    assert (
        "100003",
        "30000030400018",
        "Gamma Dépôts (tiers de confiance)",
        [("certificateurs", "CER-100003")],
    ) in state["structures"]


def test_the_demo_portals_are_registered_as_oidc_clients(hub, session):
    hub("demo")

    clients = {client.client_id: client for client in all_clients(session)}

    assert sorted(clients) == ["certificateurs", "soltea"]
    soltea = clients["soltea"]
    assert secret_matches(soltea, "soltea-dev-secret")
    assert not secret_matches(soltea, "certificateurs-dev-secret")
    assert soltea.portal.code == "soltea"
    assert soltea.redirect_uris == ["http://127.0.0.1:5001/auth/callback"]
    assert soltea.post_logout_redirect_uris == ["http://127.0.0.1:5001/"]
    assert soltea.backchannel_logout_uri == "http://127.0.0.1:5001/auth/backchannel-logout"
    assert soltea.token_endpoint_auth_method == "client_secret_basic"
