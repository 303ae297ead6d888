"""R13's receipts, read back as a person reads them (pypdf): the « Accusé de réception » at
once, the « Accusé de traitement » once processed, with every rejected record."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from portals.certificateurs.deposits import processing, receipts, service
from portals.certificateurs.deposits.errors import ReceiptNotReady
from tests.portals.deposits.conftest import TIERS
from tests.portals.deposits.files import HEADER, csv_bytes


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return re.sub(r"[ \t]+", " ", text)


def test_r13_the_accuse_de_reception_says_what_was_received(deposit_file):
    deposit = deposit_file(csv_bytes(4), "Dépôt décembre.csv", depositor=TIERS)

    text = pdf_text(receipts.reception_receipt(deposit))

    assert "Accusé de réception" in text
    assert "Numéro de dépôt D-2026-000001" in text
    assert "Certificateur Organisme Alpha Formation (matricule 100001)" in text
    assert "Déposant Tiers de confiance Gamma (matricule 300001)" in text
    assert "Déposé par Emma Leroy" in text
    assert "Fichier Dépôt décembre.csv" in text
    assert f"Taille {deposit.size} octets" in text
    assert f"SHA-256 {deposit.sha256}" in text
    assert "Reçu le 04/12/2026 14:05" in text


def test_r13_the_accuse_de_traitement_lists_every_rejected_record(ctx, deposit_file):
    deposit = deposit_file(csv_bytes(10, reject_every=4))  # records 4 and 8: lines 5 and 9
    with pytest.raises(ReceiptNotReady) as not_ready:
        receipts.processing_receipt(ctx, deposit)
    assert "pas encore traité" in not_ready.value.message

    processing.process(ctx, deposit.number)
    processed = service.find(ctx, deposit.number, certifiers=["100001"])
    text = pdf_text(receipts.processing_receipt(ctx, processed))

    assert "Accusé de traitement" in text
    assert "Numéro de dépôt D-2026-000001" in text
    assert "Enregistrements acceptés 8" in text
    assert "Enregistrements rejetés 2" in text
    rows = [line for line in text.splitlines() if line.startswith("ligne ")]
    assert len(rows) == 2
    assert rows[0].startswith("ligne 5 date_naissance ")
    assert rows[1].startswith("ligne 9 date_naissance ")
    assert "31/02/1990" in rows[0]
    lines = service.rejections(ctx, processed)
    assert [(line.location, line.field) for line in lines] == [
        ("ligne 5", "date_naissance"),
        ("ligne 9", "date_naissance"),
    ]
    assert receipts.processing_receipt(ctx, processed) == receipts.processing_receipt(
        ctx, processed
    )


def test_r13_the_accuse_de_traitement_of_a_refused_file_says_why(ctx, deposit_file):
    deposit = deposit_file(b"code;nom\nRNCP1;Martin\n", "mauvais.csv")

    processing.process(ctx, deposit.number)
    refused = service.find(ctx, deposit.number, certifiers=["100001"])
    text = pdf_text(receipts.processing_receipt(ctx, refused))

    assert (refused.state, refused.state_label) == ("rejected", "Rejeté")
    assert "Résultat Fichier rejeté" in text
    assert "Motif du rejet : La première ligne du fichier (l'en-tête)" in " ".join(text.split())


def test_r13_an_accepted_file_says_so(ctx, deposit_file):
    deposit = deposit_file(
        (HEADER + "\nRNCP1;;Martin;Élodie;12/03/1990;15/06/2025;admis\n").encode()
    )

    processing.process(ctx, deposit.number)
    processed = service.find(ctx, deposit.number, certifiers=["100001"])
    text = pdf_text(receipts.processing_receipt(ctx, processed))

    assert "Enregistrements acceptés 1" in text
    assert "Tous les enregistrements du fichier ont été acceptés." in text


def test_r13_receipts_keep_their_accents_without_the_unicode_font(monkeypatch, deposit_file):
    monkeypatch.setattr(receipts, "FONT_FOLDERS", ())
    deposit = deposit_file(csv_bytes(2), "Dépôt « décembre ».csv")

    text = pdf_text(receipts.reception_receipt(deposit))

    assert "Accusé de réception" in text
    assert "Fichier Dépôt « décembre ».csv" in text
