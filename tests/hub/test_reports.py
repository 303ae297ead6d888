"""Operator reports read from the domain: expiring accounts (R3) and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from hub.accounts.models import Role
from hub.accounts.reports import days_left, expiring_accounts
from hub.audit.models import AuditEvent
from hub.audit.queries import AuditFollower, latest_events
from hub.errors import UnknownPortal
from hub.structures.queries import structure_id_for
from tests.factories import make_account, make_structure, make_user

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def expiring_usernames(session, now, **options):
    options.setdefault("within", 30 * DAY)
    return [row.username for row in expiring_accounts(session, now=now, **options)]


def add_event(session, *, id=None, action="account.renewed", structure_id=None, **fields):
    fields.setdefault("occurred_at", datetime(2026, 11, 23, 10, 0, tzinfo=UTC))
    audit_event = AuditEvent(
        id=id, actor="alice.martin", action=action, structure_id=structure_id, **fields
    )
    session.add(audit_event)
    session.flush()
    return audit_event


def ids(events):
    return [e.id for e in events]


# --- expiring accounts ------------------------------------------------------------------------


def test_r3_window_includes_its_last_instant_and_nothing_after(session, now, soltea):
    structure = make_structure(session, portals=(soltea,))
    for name, expires_in in [
        ("limite", 30 * DAY),
        ("apres", 30 * DAY + SECOND),
        ("bientot", SECOND),
        ("maintenant", timedelta(0)),
    ]:
        user = make_user(session, last_name=name)
        make_account(
            session, now=now, structure=structure, portal=soltea, user=user, expires_in=expires_in
        )
    session.commit()

    assert expiring_usernames(session, now) == ["jeanne.bientot", "jeanne.limite"]


def test_r3_expired_accounts_are_listed_only_on_request(session, now, soltea):
    structure = make_structure(session, portals=(soltea,))
    expired = make_account(
        session, now=now, structure=structure, portal=soltea, expires_in=-10 * DAY
    )
    at_now = make_account(
        session, now=now, structure=structure, portal=soltea, expires_in=timedelta(0)
    )
    soon = make_account(session, now=now, structure=structure, portal=soltea, expires_in=DAY)
    session.commit()

    assert expiring_usernames(session, now) == [soon.user.username]
    assert expiring_usernames(session, now, include_expired=True) == [
        expired.user.username,
        at_now.user.username,
        soon.user.username,
    ]


def test_rows_are_sorted_by_expiry_then_name(session, now, soltea):
    structure = make_structure(session, portals=(soltea,))
    for last_name, first_name, expires_in in [
        ("Zola", "Émile", 2 * DAY),
        ("Martin", "Bruno", 5 * DAY),
        ("Martin", "Alice", 5 * DAY),
        ("Abel", "Anne", 5 * DAY + SECOND),
    ]:
        user = make_user(session, first_name=first_name, last_name=last_name)
        make_account(
            session, now=now, structure=structure, portal=soltea, user=user, expires_in=expires_in
        )
    session.commit()

    rows = expiring_accounts(session, now=now, within=30 * DAY)

    assert [(r.last_name, r.first_name) for r in rows] == [
        ("Zola", "Émile"),
        ("Martin", "Alice"),
        ("Martin", "Bruno"),
        ("Abel", "Anne"),
    ]


def test_a_row_carries_what_an_operator_needs_to_call_the_structure(session, now, soltea):
    structure = make_structure(
        session, portals=(soltea,), matricule="100001", name="Organisme Alpha Formation"
    )
    user = make_user(session, first_name="Alice", last_name="Martin")
    make_account(
        session,
        now=now,
        structure=structure,
        portal=soltea,
        user=user,
        role=Role.ADMIN,
        expires_in=12 * DAY,
    )
    session.commit()

    (row,) = expiring_accounts(session, now=now, within=30 * DAY)

    assert (row.portal_code, row.portal_name) == ("soltea", "SOLTÉA")
    assert (row.matricule, row.structure_name) == ("100001", "Organisme Alpha Formation")
    assert (row.username, row.email) == ("alice.martin", "alice.martin@example.org")
    assert row.role is Role.ADMIN
    assert row.expires_at == now + 12 * DAY
    assert row.days_left == 12


def test_the_report_is_one_query_whatever_the_number_of_accounts(session, engine, now, soltea):
    structure = make_structure(session, portals=(soltea,))
    for _ in range(5):
        make_account(session, now=now, structure=structure, portal=soltea, expires_in=DAY)
    session.commit()
    session.expunge_all()  # nothing already loaded may hide a lazy load
    statements = []

    def listener(_connection, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", listener)
    try:
        rows = expiring_accounts(session, now=now, within=30 * DAY)
    finally:
        event.remove(engine, "before_cursor_execute", listener)

    assert len(rows) == 5
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_portal_filter_keeps_only_the_named_portals(session, now, soltea, certificateurs):
    structure = make_structure(session, portals=(soltea, certificateurs))
    on_soltea = make_account(session, now=now, structure=structure, portal=soltea, expires_in=DAY)
    on_certificateurs = make_account(
        session, now=now, structure=structure, portal=certificateurs, expires_in=2 * DAY
    )
    session.commit()

    assert expiring_usernames(session, now, portal_codes=["certificateurs"]) == [
        on_certificateurs.user.username
    ]
    assert expiring_usernames(session, now, portal_codes=["soltea", "certificateurs"]) == [
        on_soltea.user.username,
        on_certificateurs.user.username,
    ]


def test_unknown_portal_is_an_error_naming_it_and_the_known_ones(session, now, soltea):
    session.commit()

    with pytest.raises(UnknownPortal) as raised:
        expiring_accounts(session, now=now, within=30 * DAY, portal_codes=["solteaa"])

    assert raised.value.message == "Portail inconnu : solteaa. Portails existants : soltea."


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        (datetime(2026, 12, 23, 10, 0, tzinfo=UTC), 30),
        # 23/12 at 23:30 UTC is already 24/12 in Paris: the number agrees with the date shown.
        (datetime(2026, 12, 23, 23, 30, tzinfo=UTC), 31),
        (datetime(2026, 11, 23, 22, 0, tzinfo=UTC), 0),
        (datetime(2026, 11, 13, 10, 0, tzinfo=UTC), -10),
    ],
)
def test_days_left_count_paris_calendar_days(now, expires_at, expected):
    assert days_left(expires_at, now=now) == expected


# --- audit log --------------------------------------------------------------------------------


def test_latest_events_are_the_newest_printed_newest_last(session):
    for _ in range(5):
        add_event(session)
    session.commit()
    all_ids = ids(latest_events(session, limit=10))

    assert all_ids == sorted(all_ids)
    assert ids(latest_events(session, limit=2)) == all_ids[-2:]
    assert latest_events(session, limit=0) == []


def test_latest_events_filter_by_structure_action_prefix_and_id(session):
    alpha = make_structure(session, matricule="100001")
    first = add_event(session, structure_id=alpha.id, action="account.renewed")
    add_event(session, structure_id=alpha.id, action="user.password_changed")
    other = add_event(session, structure_id=alpha.id + 1, action="account.renewed")
    last = add_event(session, structure_id=alpha.id, action="account.deleted")
    session.commit()

    assert structure_id_for(session, "100001") == alpha.id
    assert structure_id_for(session, "999999") is None
    assert ids(
        latest_events(session, limit=10, structure_id=alpha.id, action_prefix="account.")
    ) == [first.id, last.id]
    assert ids(latest_events(session, limit=10, action_prefix="account.")) == [
        first.id,
        other.id,
        last.id,
    ]
    assert ids(latest_events(session, limit=10, after_id=other.id)) == [last.id]


def test_action_prefix_is_literal_not_a_like_pattern(session):
    literal = add_event(session, action="right_withdrawn")
    add_event(session, action="rightXwithdrawn")
    add_event(session, action="rights%")
    session.commit()

    assert ids(latest_events(session, limit=10, action_prefix="right_")) == [literal.id]


def test_follower_hands_out_each_new_event_once(session):
    add_event(session)
    shown = add_event(session)
    session.commit()
    follower = AuditFollower()

    assert ids(follower.start(session, limit=1)) == [shown.id]
    assert follower.poll(session) == []
    new = [add_event(session), add_event(session)]
    session.commit()
    assert ids(follower.poll(session)) == ids(new)
    assert follower.poll(session) == []


def test_follower_keeps_its_filters_and_starts_after_what_exists(session):
    add_event(session, action="account.renewed")
    session.commit()
    follower = AuditFollower(action_prefix="user.")

    assert follower.start(session, limit=0) == []
    add_event(session, action="account.renewed")
    wanted = add_event(session, action="user.created")
    session.commit()
    assert ids(follower.poll(session)) == [wanted.id]


def test_follower_still_sees_an_event_whose_transaction_committed_late(session):
    # Ids are taken at insert and seen at commit: 11 may be visible before 10 commits.
    add_event(session, id=9)
    session.commit()
    follower = AuditFollower()
    follower.start(session, limit=20)

    add_event(session, id=11)
    session.commit()
    assert ids(follower.poll(session)) == [11]
    add_event(session, id=10)
    session.commit()
    assert ids(follower.poll(session)) == [10]
    assert follower.poll(session) == []
