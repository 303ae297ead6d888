"""`hub keys rotate|list`: new keys sign at once, old ones stay in the JWKS for the grace period
so that what they signed still verifies, then leave it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from joserfc import jws
from sqlalchemy import select

from hub.audit.models import AuditEvent
from idp.cli import cli
from idp.oidc.signing import InvalidJwt, key_ring

KID = re.compile(r"^Nouvelle clé (RS256|ES256) : (\S+)$")


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


@pytest.fixture
def hub(app):
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(cli, list(args))


def published_kids(session) -> set[str]:
    """The JWKS a portal fetches, read afresh (another process rotated)."""
    session.rollback()
    key_ring.reload()
    return {key["kid"] for key in key_ring.jwks(session)["keys"]}


def new_kids(output: str) -> dict[str, str]:
    return dict(match.groups() for line in output.splitlines() if (match := KID.match(line)))


def signed_token(session, alg: str = "RS256") -> str:
    return key_ring.sign(session, {"iss": "http://127.0.0.1:5000", "sub": "x"}, alg=alg)


def kid_of(token: str) -> str:
    return jws.extract_compact(token.encode()).headers()["kid"]


def rows_of(output: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in output.strip().splitlines()[2:]]


def test_rotate_adds_new_keys_and_keeps_the_old_ones_published(hub, session):
    old = published_kids(session)
    before = signed_token(session)

    result = hub("keys", "rotate")

    assert result.exit_code == 0, result.output
    created = new_kids(result.output)
    assert set(created) == {"RS256", "ES256"}
    assert "Les clés précédentes restent publiées jusqu'au 24/11/2026 11:00" in result.output
    assert published_kids(session) == old | set(created.values())
    assert len(old) == 2
    assert key_ring.verify(session, before)["sub"] == "x"
    assert kid_of(signed_token(session)) == created["RS256"]
    assert kid_of(signed_token(session, "ES256")) == created["ES256"]


def test_old_keys_leave_the_jwks_after_the_grace_period(hub, session, time_machine, now):
    old = published_kids(session)
    before = signed_token(session)
    created = set(new_kids(hub("keys", "rotate").output).values())

    time_machine.move_to(now + timedelta(hours=23, minutes=59), tick=False)
    during = published_kids(session)
    time_machine.move_to(now + timedelta(hours=24, minutes=1), tick=False)
    after = published_kids(session)

    assert during == old | created
    assert after == created
    with pytest.raises(InvalidJwt):
        key_ring.verify(session, before)


def test_grace_hours_option(hub, session, time_machine, now):
    old = published_kids(session)

    result = hub("keys", "rotate", "--grace-hours", "1")

    time_machine.move_to(now + timedelta(minutes=59), tick=False)
    assert old <= published_kids(session)
    time_machine.move_to(now + timedelta(minutes=61), tick=False)
    assert not old & published_kids(session)
    assert "jusqu'au 23/11/2026 12:00" in result.output  # 11:00 UTC, Paris time


@pytest.mark.parametrize("hours", ["0", "-3", "abc"])
def test_a_grace_period_must_be_positive(hub, session, hours):
    result = hub("keys", "rotate", "--grace-hours", hours)

    assert result.exit_code == 2
    session.rollback()
    assert session.scalar(select(AuditEvent).filter_by(action="keys.rotate")) is None


def test_a_grace_period_shorter_than_the_tokens_lifetime_is_refused(hub, session):
    old = published_kids(session)

    result = hub("keys", "rotate", "--grace-hours", "0.05")  # 3 minutes < 30 s + 5 min

    assert result.exit_code == 2
    assert result.stderr == (
        "Erreur : Le délai de grâce doit couvrir la durée de vie des jetons déjà signés : "
        "au moins 6 minutes.\n"
    )
    assert published_kids(session) == old


def test_rotation_is_audited(hub, session):
    old = published_kids(session)

    created = set(new_kids(hub("keys", "rotate").output).values())

    session.rollback()
    event = session.scalar(select(AuditEvent).filter_by(action="keys.rotate"))
    assert event.actor == "cli:keys-rotate"
    assert set(event.before["kids"]) == old
    assert set(event.after["kids"]) == created


def test_rotate_on_a_new_hub_creates_the_first_keys(hub, session):
    result = hub("keys", "rotate")

    assert set(new_kids(result.output)) == {"RS256", "ES256"}
    assert "restent publiées" not in result.output
    assert published_kids(session) == set(new_kids(result.output).values())


def test_list_shows_each_key_with_its_status(hub, session, time_machine, now):
    old = published_kids(session)
    created = new_kids(hub("keys", "rotate").output)

    listed = hub("keys", "list")
    time_machine.move_to(now + timedelta(days=2), tick=False)
    later = hub("keys", "list")

    assert listed.output.splitlines()[0].split() == [
        "kid",
        "alg",
        "créée",
        "le",
        "statut",
        "publiée",
        "jusqu'au",
    ]
    rows = {row[0]: row[1:] for row in rows_of(listed.output)}
    assert rows[created["RS256"]] == ["RS256", "23/11/2026 11:00", "active", "—"]
    assert rows[created["ES256"]] == ["ES256", "23/11/2026 11:00", "active", "—"]
    for kid in old:
        assert rows[kid][2:] == ["retirée", "24/11/2026 11:00"]
    later_rows = {row[0]: row[1:] for row in rows_of(later.output)}
    assert {later_rows[kid][2] for kid in old} == {"retirée, dépubliée"}


def test_list_on_a_new_hub(hub):
    result = hub("keys", "list")

    assert result.exit_code == 0
    assert result.output.startswith("Aucune clé")
