"""`hub accounts expiring` and `hub audit tail`, as an operator sees them in a terminal."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest

import idp.cli.audit
from hub.accounts.models import Role
from hub.audit.models import AuditEvent
from idp.cli import cli
from tests.factories import make_account, make_structure, make_user

DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def hub(app, now, time_machine):
    """Runs `hub ARGS…` at the tests' `now` and returns Click's result."""
    time_machine.move_to(now, tick=False)
    runner = app.test_cli_runner()

    def run(*args: str):
        return runner.invoke(cli, list(args))

    return run


@pytest.fixture
def alpha(session, soltea, certificateurs):
    return make_structure(
        session,
        portals=(soltea, certificateurs),
        matricule="100001",
        name="Organisme Alpha Formation",
    )


def account(session, now, structure, portal, first_name, last_name, expires_in, **options):
    user = make_user(session, first_name=first_name, last_name=last_name)
    return make_account(
        session,
        now=now,
        structure=structure,
        portal=portal,
        user=user,
        expires_in=expires_in,
        **options,
    )


def lines_of(output: str) -> list[str]:
    return output.strip("\n").split("\n")


def cells(row: str) -> list[str]:
    """A table row's cells: columns are at least two spaces apart, words in a cell one."""
    return re.split(r"\s{2,}", row.strip())


# --- hub accounts expiring --------------------------------------------------------------------


def test_r3_table_lists_accounts_expiring_within_the_window(hub, session, now, alpha, soltea):
    account(session, now, alpha, soltea, "Alice", "Martin", 30 * DAY, role=Role.ADMIN)
    account(session, now, alpha, soltea, "Bruno", "Petit", 30 * DAY + SECOND)
    account(session, now, alpha, soltea, "Chloé", "Roux", -10 * DAY)
    session.commit()

    result = hub("accounts", "expiring", "--days", "30")

    assert result.exit_code == 0, result.output
    header, rule, *rows = lines_of(result.stdout)
    assert cells(header) == [
        "portail", "matricule", "structure", "identifiant", "nom", "prénom", "email", "rôle",
        "date d'expiration", "jours restants",
    ]  # fmt: skip
    assert set(rule) == {"-", " "}
    assert len(rows) == 1
    assert cells(rows[0]) == [
        "SOLTÉA", "100001", "Organisme Alpha Formation", "alice.martin", "Martin", "Alice",
        "alice.martin@example.org", "Administrateur", "23/12/2026", "30",
    ]  # fmt: skip
    assert "Petit" not in result.stdout
    assert "Roux" not in result.stdout


def test_table_columns_are_aligned(hub, session, now, alpha, soltea, certificateurs):
    account(session, now, alpha, soltea, "Al", "Li", DAY)
    account(session, now, alpha, certificateurs, "Maximilienne", "De La Rochefoucauld", 2 * DAY)
    session.commit()

    header, _rule, *rows = lines_of(hub("accounts", "expiring").stdout)

    expiry_column = header.index("date d'expiration")
    assert [row[expiry_column:].split()[0] for row in rows] == ["24/11/2026", "25/11/2026"]
    assert [row.index("Utilisateur") for row in rows] == [header.index("rôle")] * 2


def test_r3_include_expired_adds_accounts_already_expired(hub, session, now, alpha, soltea):
    account(session, now, alpha, soltea, "Bruno", "Petit", -10 * DAY)
    account(session, now, alpha, soltea, "Alice", "Martin", 5 * DAY)
    session.commit()

    result = hub("accounts", "expiring", "--include-expired")

    rows = [cells(row) for row in lines_of(result.stdout)[2:]]
    assert [(row[4], row[-2], row[-1]) for row in rows] == [
        ("Petit", "13/11/2026", "-10"),
        ("Martin", "28/11/2026", "5"),
    ]


def test_empty_report_says_so_in_french(hub, session, now, alpha, soltea):
    account(session, now, alpha, soltea, "Alice", "Martin", 40 * DAY)
    session.commit()

    result = hub("accounts", "expiring", "--days", "15")

    assert result.exit_code == 0
    assert result.stdout == "Aucun compte n'expire dans les 15 prochains jours.\n"


def test_portal_filter_is_repeatable(hub, session, now, alpha, soltea, certificateurs):
    account(session, now, alpha, soltea, "Alice", "Martin", DAY)
    account(session, now, alpha, certificateurs, "Chloé", "Roux", DAY)
    session.commit()

    only_one = hub("accounts", "expiring", "--portal", "certificateurs")
    both = hub("accounts", "expiring", "--portal", "soltea", "--portal", "certificateurs")

    assert "Roux" in only_one.stdout
    assert "Martin" not in only_one.stdout
    assert len(lines_of(both.stdout)[2:]) == 2


def test_unknown_portal_exits_2_with_a_french_message(hub, session, soltea, certificateurs):
    session.commit()

    result = hub("accounts", "expiring", "--portal", "soltae")

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "Erreur : Portail inconnu : soltae. Portails existants : certificateurs, soltea.\n"
    )


def test_csv_is_excel_friendly_with_paris_dates(hub, session, now, alpha, soltea):
    # 01/12 at 23:30 UTC is already 02/12 in Paris.
    expiry = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    account(session, now, alpha, soltea, "Éloïse", "Lefèvre", expiry - now)
    session.commit()

    result = hub("accounts", "expiring", "--format", "csv")

    assert result.exit_code == 0
    assert result.stdout_bytes.startswith(BOM)
    text = result.stdout_bytes[len(BOM) :].decode("utf-8")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert rows == [
        ["portail", "matricule", "structure", "identifiant", "nom", "prénom", "email", "rôle",
         "date d'expiration", "jours restants"],
        ["SOLTÉA", "100001", "Organisme Alpha Formation", "éloïse.lefèvre", "Lefèvre", "Éloïse",
         "éloïse.lefèvre@example.org", "Utilisateur", "02/12/2026", "9"],
    ]  # fmt: skip


def test_empty_csv_still_has_its_header(hub, session, soltea):
    session.commit()

    result = hub("accounts", "expiring", "--format", "csv")

    assert result.stdout_bytes.decode("utf-8").splitlines() == [
        "\ufeffportail;matricule;structure;identifiant;nom;prénom;email;rôle;"
        "date d'expiration;jours restants"
    ]


def test_csv_can_be_written_to_a_file(hub, session, now, alpha, soltea, tmp_path):
    account(session, now, alpha, soltea, "Alice", "Martin", DAY)
    session.commit()
    target = tmp_path / "expirations.csv"

    result = hub("accounts", "expiring", "--format", "csv", "--output", str(target))

    assert result.exit_code == 0
    assert result.stdout == ""
    assert "1 compte(s) écrit(s)" in result.stderr
    content = target.read_bytes()
    assert content.startswith(BOM)
    assert content.decode("utf-8-sig").splitlines()[1].startswith("SOLTÉA;100001;")


# --- hub audit tail ---------------------------------------------------------------------------


def add_event(session, *, minutes=0, **fields):
    fields.setdefault("actor", "alice.martin")
    fields.setdefault("action", "account.renewed")
    occurred_at = datetime(2026, 11, 23, 10, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    audit_event = AuditEvent(occurred_at=occurred_at, **fields)
    session.add(audit_event)
    session.flush()
    return audit_event


def test_tail_prints_the_latest_events_newest_last(hub, session):
    for minute in range(5):
        add_event(session, minutes=minute, target=f"cible-{minute}")
    session.commit()

    result = hub("audit", "tail", "-n", "3")

    assert result.exit_code == 0
    header, _rule, *rows = lines_of(result.stdout)
    assert cells(header) == [
        "date/heure", "acteur", "action", "structure", "portail", "cible", "changements",
        "requête",
    ]  # fmt: skip
    assert [cells(row)[5] for row in rows] == ["cible-2", "cible-3", "cible-4"]


def test_tail_shows_paris_time_portal_via_and_changes(hub, session, alpha):
    add_event(
        session,
        minutes=13 * 60 + 30,  # 23:30 UTC, 00:30 the next day in Paris
        structure_id=alpha.id,
        portal="certificateurs",
        via_portal="soltea",
        target="chloe.roux (100001, certificateurs)",
        before={"role": "user", "expires_at": "2027-05-01T10:00:00+00:00"},
        after={"role": "user", "expires_at": "2028-11-01T10:00:00+00:00"},
        request_id="req-42",
    )
    session.commit()

    (row,) = lines_of(hub("audit", "tail").stdout)[2:]

    assert row.startswith("24/11/2026 00:30:00  alice.martin  account.renewed")
    assert f"  {alpha.id}  " in row
    assert "certificateurs via soltea" in row
    assert "chloe.roux (100001, certificateurs)" in row
    assert "expires_at: 01/05/2027 → 01/11/2028" in row
    assert "role:" not in row
    assert row.endswith("req-42")


def test_tail_filters_by_structure_and_action_prefix(hub, session, alpha):
    beta = make_structure(session, matricule="100002")
    add_event(session, structure_id=alpha.id, action="account.renewed", target="garde")
    add_event(session, structure_id=alpha.id, action="user.password_changed", target="autre")
    add_event(session, structure_id=beta.id, action="account.renewed", target="beta")
    session.commit()

    result = hub("audit", "tail", "--structure", "100001", "--action", "account.")

    rows = lines_of(result.stdout)[2:]
    assert len(rows) == 1
    assert "garde" in rows[0]


def test_tail_unknown_structure_exits_2(hub, session):
    result = hub("audit", "tail", "--structure", "424242")

    assert result.exit_code == 2
    assert result.stderr == "Erreur : Structure inconnue : matricule 424242.\n"


def test_tail_with_nothing_to_show_says_so(hub, session):
    result = hub("audit", "tail")

    assert result.exit_code == 0
    assert result.stdout == "Aucun événement d'audit à afficher.\n"


def test_tail_json_is_one_object_per_line(hub, session):
    first = add_event(session, after={"rights": ["data_exchange"]}, request_id="req-1")
    second = add_event(session, minutes=1, action="account.deleted", portal="soltea")
    session.commit()

    result = hub("audit", "tail", "--format", "json")

    records = [json.loads(line) for line in lines_of(result.stdout)]
    assert [r["id"] for r in records] == [first.id, second.id]
    assert records[0]["occurred_at"] == "2026-11-23T10:00:00+00:00"
    assert records[0]["after"] == {"rights": ["data_exchange"]}
    assert records[0]["request_id"] == "req-1"
    assert records[1]["action"] == "account.deleted"
    assert records[1]["portal"] == "soltea"


def follow_with(monkeypatch, session_factory, batches):
    """Replaces the pause between polls: each pause commits the next batch of events (from
    another session, as another process would), and the pause after the last is a Ctrl-C."""
    pauses = []

    def pause(seconds):
        pauses.append(seconds)
        if len(pauses) > len(batches):
            raise KeyboardInterrupt
        with session_factory() as other:
            for fields in batches[len(pauses) - 1]:
                add_event(other, **fields)
            other.commit()

    monkeypatch.setattr(idp.cli.audit, "sleep", pause)
    return pauses


def test_follow_prints_only_new_events_until_ctrl_c(hub, session, session_factory, monkeypatch):
    add_event(session, target="ancien")
    session.commit()
    pauses = follow_with(
        monkeypatch,
        session_factory,
        [[{"target": "nouveau-1"}], [], [{"target": "nouveau-2"}, {"target": "nouveau-3"}]],
    )

    result = hub("audit", "tail", "--follow", "--interval", "0.5")

    assert result.exit_code == 0
    assert "Traceback" not in result.output
    assert "Aborted" not in result.output
    assert pauses == [0.5] * 4
    rows = lines_of(result.stdout)[2:]
    assert [cells(row)[5] for row in rows] == ["ancien", "nouveau-1", "nouveau-2", "nouveau-3"]
    assert "Ctrl-C" in result.stderr


def test_follow_in_json_keeps_the_filters(hub, session, session_factory, monkeypatch):
    session.commit()
    follow_with(
        monkeypatch,
        session_factory,
        [[{"action": "user.created", "target": "non"}, {"action": "account.created"}]],
    )

    result = hub("audit", "tail", "-f", "--action", "account.", "--format", "json")

    assert result.exit_code == 0
    assert [json.loads(line)["action"] for line in lines_of(result.stdout)] == ["account.created"]
    assert result.stderr == ""
