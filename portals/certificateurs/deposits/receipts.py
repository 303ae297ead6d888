"""The two receipts of R13, as PDF (fpdf2): the « Accusé de réception », made from the deposit
alone at once, and the « Accusé de traitement », once the deposit is processed or refused,
listing every rejected record's location, field and reason.

A processed deposit never changes, so its accusé de traitement is made once and kept next to
the files (`<DEPOSITS_PATH>/receipts/`); later downloads send the same bytes.

The text is set in DejaVu Sans (Unicode) when the system has it, otherwise in the PDF's core
Helvetica, which covers the French accents and « » of Latin-1.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from portals.certificateurs.deposits import messages
from portals.certificateurs.deposits.context import Deposits
from portals.certificateurs.deposits.domain import Deposit, RejectionLine
from portals.certificateurs.deposits.errors import ReceiptNotReady
from portals.certificateurs.deposits.models import REJECTED
from portals.kit.clock import PARIS

FONT_FOLDERS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
REJECTIONS_PAGE = 2000  # rejections read from the database at a time


def reception_receipt(deposit: Deposit) -> bytes:
    pdf = _Receipt(messages.RECEPTION_TITLE)
    pdf.heading(deposit)
    pdf.pairs(_deposit_facts(deposit))
    pdf.paragraph(
        "Le fichier a été reçu. Il sera traité dans les meilleurs délais ; l'accusé de "
        "traitement indiquera les enregistrements acceptés et rejetés."
    )
    return pdf.render()


def processing_receipt(ctx: Deposits, deposit: Deposit) -> bytes:
    if not deposit.finished:
        raise ReceiptNotReady()
    kept = ctx.settings.deposits_path / "receipts" / f"{deposit.number}-traitement.pdf"
    if kept.is_file():
        return kept.read_bytes()
    content = _processing_pdf(deposit, _all_rejections(ctx, deposit))
    _keep(kept, content)
    return content


def _processing_pdf(deposit: Deposit, lines: Iterable[RejectionLine]) -> bytes:
    pdf = _Receipt(messages.PROCESSING_TITLE)
    pdf.heading(deposit)
    facts = _deposit_facts(deposit)
    if deposit.processed_at is not None:
        facts.append(("Traité le", _paris(deposit.processed_at)))
    if deposit.state == REJECTED:
        facts.append(("Résultat", "Fichier rejeté"))
        pdf.pairs(facts)
        pdf.paragraph(f"Motif du rejet : {deposit.error or messages.PROCESSING_FAILED}")
        return pdf.render()
    facts += [
        ("Enregistrements acceptés", str(deposit.accepted)),
        ("Enregistrements rejetés", str(deposit.rejected)),
    ]
    pdf.pairs(facts)
    if deposit.rejected:
        pdf.rejections(lines)
    else:
        pdf.paragraph("Tous les enregistrements du fichier ont été acceptés.")
    return pdf.render()


def _all_rejections(ctx: Deposits, deposit: Deposit) -> Iterable[RejectionLine]:
    from portals.certificateurs.deposits.service import rejections

    offset = 0
    while batch := rejections(ctx, deposit, limit=REJECTIONS_PAGE, offset=offset):
        yield from batch
        offset += len(batch)


def _deposit_facts(deposit: Deposit) -> list[tuple[str, str]]:
    return [
        ("Numéro de dépôt", deposit.number),
        ("Certificateur", f"{deposit.certifier.name} (matricule {deposit.certifier.matricule})"),
        ("Déposant", f"{deposit.depositor.name} (matricule {deposit.depositor.matricule})"),
        ("Déposé par", deposit.person.name),
        ("Fichier", deposit.filename),
        ("Taille", f"{messages.human_size(deposit.size)} ({deposit.size} octets)"),
        ("Format", deposit.format),
        ("SHA-256", deposit.sha256),
        ("Reçu le", _paris(deposit.received_at)),
    ]


def _paris(moment: datetime) -> str:
    return moment.astimezone(PARIS).strftime("%d/%m/%Y %H:%M")


def _keep(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    temporary.write_bytes(content)
    os.replace(temporary, path)


def _unicode_font() -> Path | None:
    for folder in FONT_FOLDERS:
        if (folder / "DejaVuSans.ttf").is_file() and (folder / "DejaVuSans-Bold.ttf").is_file():
            return folder
    return None


class _Receipt(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(format="A4")
        self.title_text = title
        self.set_title(title)
        self.set_creator("Certificateurs")
        self.set_auto_page_break(auto=True, margin=15)
        folder = _unicode_font()
        if folder is not None:
            self.add_font("DejaVu", "", str(folder / "DejaVuSans.ttf"))
            self.add_font("DejaVu", "B", str(folder / "DejaVuSans-Bold.ttf"))
            self._family = "DejaVu"
            self._unicode = True
        else:
            self._family = "helvetica"
            self._unicode = False
        self.add_page()

    def text_of(self, value: str) -> str:
        if self._unicode:
            return value
        value = value.replace("’", "'").replace("…", "...")
        return value.encode("latin-1", "replace").decode("latin-1")

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self._family, "", 8)
        self.cell(0, 5, self.text_of(f"Certificateurs — page {self.page_no()}"), align="C")

    def heading(self, deposit: Deposit) -> None:
        self.set_font(self._family, "B", 16)
        self.cell(0, 10, self.text_of(self.title_text), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self._family, "", 11)
        self.cell(0, 7, self.text_of(f"Dépôt {deposit.number}"), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def pairs(self, facts: list[tuple[str, str]]) -> None:
        for label, value in facts:
            self.set_font(self._family, "B", 10)
            self.cell(55, 6, self.text_of(label))
            self.set_font(self._family, "", 10)
            self.multi_cell(0, 6, self.text_of(value), new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def paragraph(self, text: str) -> None:
        self.set_font(self._family, "", 10)
        self.multi_cell(0, 6, self.text_of(text), new_x="LMARGIN", new_y="NEXT")

    def rejections(self, lines: Iterable[RejectionLine]) -> None:
        self.set_font(self._family, "B", 11)
        self.cell(0, 8, self.text_of("Enregistrements rejetés"), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self._family, "B", 9)
        self.cell(35, 6, self.text_of("Emplacement"), border="B")
        self.cell(40, 6, self.text_of("Champ"), border="B")
        self.cell(0, 6, self.text_of("Motif"), border="B", new_x="LMARGIN", new_y="NEXT")
        self.set_font(self._family, "", 9)
        for line in lines:
            self.cell(35, 5, self.text_of(line.location))
            self.cell(40, 5, self.text_of(line.field))
            self.multi_cell(0, 5, self.text_of(line.reason), new_x="LMARGIN", new_y="NEXT")

    def render(self) -> bytes:
        return bytes(self.output())
