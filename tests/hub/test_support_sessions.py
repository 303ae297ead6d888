"""R11: the support console's sessions — a digest of a random key, short-lived, idle-limited,
asking for the password again before a change — and their audit trail under the operator's
name."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub import throttle
from hub.audit.models import AuditEvent
from hub.config import Support, Throttling
from hub.oidc.secrets import digest
from hub.support import sessions
from hub.support.models import OperatorRole
from hub.support.operators import Operator

SOPHIE = Operator("sophie.support", "Sophie Bernard", "uid=sophie.support", OperatorRole.OPERATOR)
SETTINGS = Support(idle_minutes=15, session_hours=8, reauth_minutes=5)


def actions(session) -> list[tuple[str, str]]:
    return [
        (e.action, e.actor) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    ]


def test_r11_the_database_keeps_only_a_digest_of_the_cookie(session, now):
    row, cookie_value = sessions.start(session, SOPHIE, now=now, ip_address="192.0.2.1")

    assert row.key_hash == digest(cookie_value) != cookie_value
    assert sessions.find_active(session, cookie_value, now=now, settings=SETTINGS) is row
    assert sessions.find_active(session, row.key_hash, now=now, settings=SETTINGS) is None
    assert actions(session) == [("support.sign_in", "support:sophie.support (Sophie Bernard)")]


def test_r11_a_session_idles_out_unless_used(session, now):
    row, cookie_value = sessions.start(session, SOPHIE, now=now, ip_address=None)

    later = now + timedelta(minutes=14)
    sessions.touch(row, now=later)
    assert sessions.find_active(
        session, cookie_value, now=later + timedelta(minutes=14), settings=SETTINGS
    )
    assert not sessions.find_active(
        session, cookie_value, now=later + timedelta(minutes=15), settings=SETTINGS
    )


def test_r11_a_session_ends_after_its_lifetime_however_used(session, now):
    row, cookie_value = sessions.start(session, SOPHIE, now=now, ip_address=None)
    end = now + timedelta(hours=8)

    sessions.touch(row, now=end - timedelta(minutes=1))

    assert sessions.find_active(
        session, cookie_value, now=end - timedelta(seconds=1), settings=SETTINGS
    )
    assert sessions.find_active(session, cookie_value, now=end, settings=SETTINGS) is None


def test_r11_sign_out_ends_it_and_is_audited(session, now):
    row, cookie_value = sessions.start(session, SOPHIE, now=now, ip_address=None)

    sessions.end(session, row, now=now)
    sessions.end(session, row, now=now)  # twice: once in the log

    assert sessions.find_active(session, cookie_value, now=now, settings=SETTINGS) is None
    assert [a for a, _ in actions(session)] == ["support.sign_in", "support.sign_out"]


def test_r11_a_change_needs_a_recent_password(session, now):
    row, _ = sessions.start(session, SOPHIE, now=now, ip_address=None)

    assert not sessions.needs_reauth(row, now=now + timedelta(minutes=4), settings=SETTINGS)
    assert sessions.needs_reauth(row, now=now + timedelta(minutes=5), settings=SETTINGS)
    sessions.reauthenticated(row, now + timedelta(minutes=5))
    assert not sessions.needs_reauth(row, now=now + timedelta(minutes=9), settings=SETTINGS)
    assert actions(session)[-1][0] == "support.reauthenticate"


def test_r11_re_authentication_takes_the_directory_s_current_role(session, now):
    row, _ = sessions.start(session, SOPHIE, now=now, ip_address=None)
    demoted = Operator(SOPHIE.login, SOPHIE.name, SOPHIE.dn, OperatorRole.READER)

    sessions.reauthenticated(row, now, operator=demoted)

    assert row.role is OperatorRole.READER


def test_console_failures_count_under_their_own_keys(session, now):
    """Guessing at the console never locks a portal person of the same identifiant out, and
    an identifiant key delays then locks like sign-in's."""
    limits = Throttling(delay_after=3, user_lock_after=5)
    for _ in range(5):
        sessions.fail(
            session,
            login="alice.martin",
            ip_address="192.0.2.1",
            now=now,
            throttling=limits,
            reason="x",
        )

    assert sessions.refused_until(session, "alice.martin", ip_address="192.0.2.9", now=now)
    assert throttle.refused_until(session, [throttle.user_key("alice.martin")], now=now) is None
    locked = session.get(throttle.LoginThrottle, "support-user:alice.martin").locked_until
    assert locked - now == timedelta(minutes=limits.lock_minutes)
