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
ROW = 4.5  # millimetres between two lines of the rejections' table


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
        ("Taille", _size(deposit.size)),
        ("Format", deposit.format),
        ("SHA-256", deposit.sha256),
        ("Reçu le", _paris(deposit.received_at)),
    ]


def _size(size: int) -> str:
    shown = messages.human_size(size)
    return shown if size < 1024 else f"{shown} ({size} octets)"


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
        self.set_font(self._family, "B", 10)
        width = max(self.get_string_width(self.text_of(label)) for label, _ in facts) + 4
        for label, value in facts:
            self.set_font(self._family, "B", 10)
            self.cell(width, 6, self.text_of(label))
            self.set_font(self._family, "", 9)
            self.multi_cell(0, 6, self.text_of(value), align="L", new_x="LMARGIN", new_y="NEXT")
        self.ln(3)

    def paragraph(self, text: str) -> None:
        self.set_font(self._family, "", 10)
        self.multi_cell(0, 6, self.text_of(text), align="L", new_x="LMARGIN", new_y="NEXT")

    def rejections(self, lines: Iterable[RejectionLine]) -> None:
        """A table of every rejection, drawn with `text()` rather than cells: a deposit may
        have tens of thousands, and fpdf2's cell layout costs a millisecond each."""
        self.set_font(self._family, "B", 11)
        self.cell(0, 8, self.text_of("Enregistrements rejetés"), new_x="LMARGIN", new_y="NEXT")
        columns = (self.l_margin, self.l_margin + 62, self.l_margin + 97)
        reason_width = self.w - self.r_margin - columns[2]
        self._table_header(columns)
        self.set_font(self._family, "", 9)
        bottom = self.h - self.b_margin
        y = self.get_y() + 4
        for line in lines:
            reason = self._wrap(self.text_of(line.reason), reason_width)
            if y + ROW * (len(reason) - 1) > bottom:
                self.add_page()
                self._table_header(columns)
                self.set_font(self._family, "", 9)
                y = self.get_y() + 4
            self.text(columns[0], y, self.text_of(line.location))
            self.text(columns[1], y, self.text_of(line.field))
            for part in reason:
                self.text(columns[2], y, part)
                y += ROW
        self.set_y(y)

    def _table_header(self, columns: tuple[float, float, float]) -> None:
        self.set_font(self._family, "B", 9)
        y = self.get_y() + 4
        for x, title in zip(columns, ("Emplacement", "Champ", "Motif"), strict=True):
            self.text(x, y, title)
        self.line(self.l_margin, y + 1.5, self.w - self.r_margin, y + 1.5)
        self.set_y(y + 2)

    def _wrap(self, text: str, width: float) -> list[str]:
        if self.get_string_width(text) <= width:
            return [text]
        lines: list[str] = []
        current = ""
        for word in text.split():
            candidate = f"{current} {word}".strip()
            if current and self.get_string_width(candidate) > width:
                lines.append(current)
                current = word
            else:
                current = candidate
        return [*lines, current] if current else lines

    def render(self) -> bytes:
        return bytes(self.output())
