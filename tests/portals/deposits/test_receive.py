"""R13 « Déposer un fichier »: what `receive` keeps and what it refuses (nothing stored then),
the content-addressed files, the same file twice for one certifier, names cleaned, speed."""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portals.certificateurs.deposits import service
from portals.certificateurs.deposits.errors import DepositRefused, DuplicateDeposit
from portals.certificateurs.deposits.filenames import sanitise
from portals.certificateurs.deposits.models import deposits
from tests.portals.deposits.conftest import ALPHA, BETA, EMMA, NOW, TIERS
from tests.portals.deposits.files import csv_bytes, xml_bytes


def stored_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def deposit_count(ctx) -> int:
    with ctx.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(deposits))


def test_r13_a_csv_is_kept_under_its_sha256_numbered_and_queued(ctx, deposit_file):
    content = csv_bytes(5, bom=True)

    deposit = deposit_file(content, "certifications.csv", depositor=TIERS)

    sha256 = hashlib.sha256(content).hexdigest()
    assert deposit.number == "D-2026-000001"
    assert (deposit.certifier, deposit.depositor, deposit.person) == (ALPHA, TIERS, EMMA)
    assert (deposit.filename, deposit.size, deposit.sha256) == (
        "certifications.csv",
        len(content),
        sha256,
    )
    assert (deposit.format, deposit.state, deposit.state_label) == ("CSV", "received", "Reçu")
    assert deposit.records_total == 5
    assert deposit.received_at == NOW
    kept = ctx.settings.deposits_path / sha256[:2] / sha256
    assert stored_files(ctx.settings.deposits_path) == [kept]
    assert kept.read_bytes() == content
    assert service.original(ctx, deposit) == kept
    assert ctx.queue.pending() == 1


def test_r13_an_xml_file_is_received_as_xml(deposit_file):
    deposit = deposit_file(xml_bytes(3), "certifications.XML")

    assert deposit.format == "XML"


def test_r13_numbers_follow_each_other(deposit_file):
    first = deposit_file(csv_bytes(1))
    second = deposit_file(csv_bytes(2))

    assert (first.number, second.number) == ("D-2026-000001", "D-2026-000002")


def test_r13_a_file_over_the_limit_is_refused_and_nothing_is_stored(open_ctx, settings):
    ctx = open_ctx(replace(settings, max_bytes=2000))
    content = csv_bytes(100)
    assert len(content) > 2000

    with pytest.raises(DepositRefused) as refused:
        service.receive(
            ctx, stream=io.BytesIO(content), filename="gros.csv", certifier=ALPHA,
            depositor=ALPHA, person=EMMA, now=NOW,
        )  # fmt: skip

    assert refused.value.message == (
        "Le fichier dépasse la taille maximale autorisée (2 Ko) : aucun dépôt n'a été enregistré."
    )
    assert stored_files(ctx.settings.deposits_path) == []
    assert deposit_count(ctx) == 0
    assert ctx.queue.pending() == 0


def test_r13_the_default_limit_is_50_mo(settings):
    assert settings.max_bytes == 50 * 1024 * 1024


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "vide.csv", "Le fichier est vide : aucun dépôt n'a été enregistré."),
        (b"%PDF-1.7\n...", "certifications.csv", "son contenu est un document PDF"),
        (b"PK\x03\x04\x14\x00", "certifications.csv", "une archive ZIP"),
        (b"<depot></depot>", "certifications.csv", "son contenu est du XML"),
        (csv_bytes(2), "certifications.xml", "n'est pas du XML"),
        (csv_bytes(2), "certifications.txt", "l'extension .csv ou .xml"),
    ],
)
def test_r13_a_file_that_is_not_what_its_name_says_is_refused(
    ctx, deposit_file, content, filename, message
):
    with pytest.raises(DepositRefused) as refused:
        deposit_file(content, filename)

    assert message in refused.value.message
    assert stored_files(ctx.settings.deposits_path) == []
    assert deposit_count(ctx) == 0


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\emma\\Dépôt décembre.csv", "Dépôt décembre.csv"),
        ("rapport\x00\r\n2026.csv", "rapport2026.csv"),
        ("\u202evsc.exe.csv", "vsc.exe.csv"),  # a right-to-left override hides the real end
        ("..hidden.csv", "hidden.csv"),
        ('a<b>:"c|?*.csv', "a_b___c___.csv"),
        ("x" * 300 + ".csv", "x" * 196 + ".csv"),
    ],
)
def test_r13_file_names_lose_paths_and_control_characters(given, kept):
    assert sanitise(given) == kept


@pytest.mark.parametrize("given", ["", "/", "../..", "\x01\x02", "dossier/"])
def test_r13_a_name_with_nothing_left_is_refused(ctx, deposit_file, given):
    with pytest.raises(DepositRefused, match="Le nom du fichier n'est pas valide"):
        deposit_file(csv_bytes(1), given)

    assert deposit_count(ctx) == 0


def test_r13_the_cleaned_name_is_the_one_kept(deposit_file):
    deposit = deposit_file(csv_bytes(1), "../../secret/é\x1b[31mté.csv")

    assert deposit.filename == "é[31mté.csv"


def test_r13_the_same_file_for_the_same_certifier_asks_for_a_confirmation(ctx, deposit_file):
    content = csv_bytes(3)
    first = deposit_file(content, "premier.csv")

    with pytest.raises(DuplicateDeposit) as duplicate:
        deposit_file(content, "second.csv")

    assert duplicate.value.previous.number == first.number
    assert duplicate.value.message == (
        "Ce fichier a déjà été déposé pour ce certificateur le 04/12/2026 à 14:05 "
        "(dépôt D-2026-000001). Confirmez-vous ce nouveau dépôt ?"
    )
    assert (duplicate.value.sha256, duplicate.value.filename) == (first.sha256, "second.csv")
    assert deposit_count(ctx) == 1

    confirmed = deposit_file(content, "second.csv", confirm_duplicate=True)

    assert confirmed.number == "D-2026-000002"
    assert confirmed.sha256 == first.sha256
    assert len(stored_files(ctx.settings.deposits_path)) == 1  # one content, one file


def test_r13_a_duplicate_is_confirmed_without_sending_the_file_again(ctx, deposit_file):
    first = deposit_file(csv_bytes(3), "premier.csv")

    again = service.receive_confirmed_duplicate(
        ctx, sha256=first.sha256, filename="encore.csv", certifier=ALPHA, depositor=ALPHA,
        person=EMMA, now=NOW,
    )  # fmt: skip

    assert (again.number, again.filename, again.size) == ("D-2026-000002", "encore.csv", first.size)
    assert ctx.queue.pending() == 2


def test_r13_only_a_content_deposited_for_that_certifier_can_be_confirmed(ctx, deposit_file):
    first = deposit_file(csv_bytes(3), certifier=BETA)

    with pytest.raises(DepositRefused, match="jamais été déposé pour ce certificateur"):
        service.receive_confirmed_duplicate(
            ctx, sha256=first.sha256, filename="x.csv", certifier=ALPHA, depositor=ALPHA,
            person=EMMA, now=NOW,
        )  # fmt: skip


def test_r13_the_same_file_for_another_certifier_is_no_duplicate(deposit_file):
    content = csv_bytes(3)
    deposit_file(content, certifier=ALPHA)

    other = deposit_file(content, certifier=BETA)

    assert other.certifier == BETA


def test_r13_a_100000_record_csv_is_received_within_2_seconds(deposit_file):
    content = csv_bytes(100_000)
    assert len(content) > 6_000_000

    started = time.perf_counter()
    deposit = deposit_file(content)
    elapsed = time.perf_counter() - started

    assert deposit.records_total == 100_000
    assert elapsed <= 2.0, f"received in {elapsed:.2f} s"
