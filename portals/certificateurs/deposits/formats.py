"""Reading a deposit file (R13): what kind of file it is (`sniff`), then its records one by one
(`records`), in constant memory whatever its size.

Two outcomes, kept apart on purpose:
- `FileRefused`: the file as a whole is unusable (not what its name says, empty, not UTF-8,
  wrong header, XML not well-formed or carrying a DOCTYPE). Its `message` says, in French,
  what to fix. It may be raised before the first record or in the middle of the stream (a line
  that is not UTF-8 at line 50 000): whoever consumes `records` discards what it read so far.
- A `Record` whose `structure_error` is set: that one record does not have the file's shape (a
  CSV line with too many or too few columns, an XML record the schema rejects). The other
  records are still good, so `checks.check` reports it as that record's rejection.

Values are stripped of surrounding white space (XML indentation, spreadsheet padding) and
otherwise left as written, so that rejections quote what the depositor wrote.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from lxml import etree

FIELDS = (
    "code_certification",
    "numero_candidat",
    "nom",
    "prenom",
    "date_naissance",
    "date_obtention",
    "resultat",
)
"""The fields of a record, in order: the CSV header and the XML record's child elements."""

OPTIONAL_FIELDS = frozenset({"numero_candidat"})
SEPARATOR = ";"
XML_ROOT = "depot"
XML_RECORD = "enregistrement"
SCHEMA_PATH = Path(__file__).with_name("deposit.xsd")
MAX_XML_PROLOG = 64 * 1024
"""Bytes before the root element (XML declaration, comments) in which a DOCTYPE is looked for."""
DOCTYPE_FORBIDDEN = (
    "Le fichier XML contient une déclaration de type de document (DOCTYPE), interdite."
)
MAX_XML_VALUE = 200
"""Characters of one field's text, as `deposit.xsd` says (`texte`'s maxLength)."""
MAX_CSV_LINE = 64 * 1024
"""Bytes; far above any real record, it bounds memory when a « CSV » has no line breaks."""


class Format(StrEnum):
    CSV = "csv"
    XML = "xml"


class FileRefused(Exception):
    """The whole file is unusable; `message` is the French sentence shown to the depositor."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Record:
    location: str
    """As a person reads it: « ligne 12 » (CSV, the header is line 1) or « enregistrement 12
    (ligne 40) » (XML)."""
    fields: dict[str, str]
    structure_error: str | None = None
    """Why this record does not have the file's shape (French), or None."""


# --- What the file is ------------------------------------------------------------------------

_SIGNATURES = (
    (b"%PDF", "un document PDF"),
    (b"PK\x03\x04", "une archive ZIP (un classeur Excel ou un document Office en est une)"),
    (b"\xd0\xcf\x11\xe0", "un document Office ancien (par exemple un classeur Excel .xls)"),
    (b"\x89PNG", "une image PNG"),
    (b"\xff\xd8\xff", "une image JPEG"),
    (b"GIF8", "une image GIF"),
    (b"\x1f\x8b", "une archive compressée (gzip)"),
    (b"\xff\xfe", "du texte en UTF-16 (enregistrez le fichier en UTF-8)"),
    (b"\xfe\xff", "du texte en UTF-16 (enregistrez le fichier en UTF-8)"),
)


def sniff(head: bytes, filename: str) -> Format:
    """The file's format, from its declared extension AND its first bytes, which must agree.

    `head` is the beginning of the file (a few kilobytes are plenty). A name that lies about
    the content is refused rather than trusted: a spreadsheet renamed .csv would otherwise
    come back as thousands of unreadable lines.
    """
    declared = _declared_format(filename)
    content = head.removeprefix(codecs.BOM_UTF8).lstrip()
    if not content:
        raise FileRefused("Le fichier est vide.")
    kind = _binary_kind(content)
    if kind is not None:
        raise FileRefused(
            f"Le fichier porte l'extension .{declared} mais son contenu est {kind} : "
            f"déposez un fichier {declared.upper()}."
        )
    looks_like_xml = content.startswith(b"<")
    if declared is Format.CSV and looks_like_xml:
        raise FileRefused(
            "Le fichier porte l'extension .csv mais son contenu est du XML : "
            "renommez-le en .xml ou déposez un fichier CSV."
        )
    if declared is Format.XML and not looks_like_xml:
        raise FileRefused(
            "Le fichier porte l'extension .xml mais son contenu n'est pas du XML "
            "(il ne commence pas par « < ») : renommez-le en .csv s'il s'agit d'un CSV."
        )
    return declared


def _declared_format(filename: str) -> Format:
    _, dot, extension = filename.rpartition(".")
    if dot and extension.lower() in (Format.CSV, Format.XML):
        return Format(extension.lower())
    raise FileRefused(
        "Le fichier doit porter l'extension .csv ou .xml : déposez un fichier CSV ou XML."
    )


def _binary_kind(content: bytes) -> str | None:
    for signature, kind in _SIGNATURES:
        if content.startswith(signature):
            return kind
    if b"\x00" in content:
        return "binaire (ce n'est pas du texte)"
    return None


# --- Its records -----------------------------------------------------------------------------


def records(path: Path, fmt: Format) -> Iterator[Record]:
    """The file's records in order, streamed: memory does not grow with the file's size.

    Raises `FileRefused` when the file as a whole is unusable, possibly after records were
    yielded (see the module's docstring).
    """
    if fmt is Format.CSV:
        return _csv_records(path)
    return _xml_records(path)


def header_problem(found: list[str]) -> str | None:
    """Why a CSV header is not the expected one (French), or None when it is."""
    names = [name.strip().lower() for name in found]
    if names == list(FIELDS):
        return None
    expected = SEPARATOR.join(FIELDS)
    written = SEPARATOR.join(found)
    hint = ""
    if len(found) == 1 and ("," in found[0] or "\t" in found[0]):
        hint = " Le séparateur des colonnes doit être le point-virgule (;)."
    return (
        "La première ligne du fichier (l'en-tête) ne correspond pas au format attendu. "
        f"Attendu : « {expected} ». Trouvé : « {written} ».{hint}"
    )


def _csv_records(path: Path) -> Iterator[Record]:
    with path.open("rb") as raw:
        lines = _utf8_lines(raw)
        reader = csv.reader(lines, delimiter=SEPARATOR, strict=True)
        try:
            header = next(reader, None)
            if header is None:
                raise FileRefused("Le fichier est vide.")
            problem = header_problem(header)
            if problem:
                raise FileRefused(problem)
            yield from _csv_rows(reader)
        except csv.Error as error:
            raise FileRefused(
                f"Le fichier CSV ne peut pas être lu à la ligne {reader.line_num} : vérifiez "
                "les guillemets de cette ligne (un guillemet ouvert doit être refermé)."
            ) from error


def _csv_rows(reader: Any) -> Iterator[Record]:
    """`reader` is a `csv.reader`: its `line_num` counts physical lines, header included."""
    count = 0
    last_line = reader.line_num
    for row in reader:
        first_line, last_line = last_line + 1, reader.line_num
        if not row or row == [""]:
            continue  # a blank line, typically the last one: nothing was meant there
        count += 1
        values = [value.strip() for value in row]
        fields = dict(zip(FIELDS, values, strict=False))
        error = None
        if len(values) != len(FIELDS):
            error = f"La ligne compte {len(values)} colonnes au lieu de {len(FIELDS)}."
        yield Record(f"ligne {first_line}", fields, error)
    if count == 0:
        raise FileRefused("Le fichier ne contient aucun enregistrement après l'en-tête.")


def _utf8_lines(raw: BinaryIO) -> Iterator[str]:
    """The file's lines decoded one by one, so that an encoding error names its line."""
    number = 0
    while line := raw.readline(MAX_CSV_LINE + 1):
        number += 1
        if len(line) > MAX_CSV_LINE:
            raise FileRefused(
                f"La ligne {number} dépasse {MAX_CSV_LINE // 1024} Ko : ce n'est pas une ligne "
                "d'un fichier de dépôt."
            )
        if number == 1:
            line = line.removeprefix(codecs.BOM_UTF8)
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError:
            raise FileRefused(
                f"La ligne {number} n'est pas encodée en UTF-8 : enregistrez le fichier en "
                "UTF-8 (« CSV UTF-8 » dans un tableur) et déposez-le à nouveau."
            ) from None


def _xml_records(path: Path) -> Iterator[Record]:
    """Streams the records with a parser that never fetches, reads or expands anything
    declared in the file; a DOCTYPE is refused outright, before parsing
    (`_refuse_doctype_in_prolog`).

    Only the end of each <enregistrement> is an event (not each field's): the root is checked
    at the first one, with the parser's own view of the DOCTYPE as a second line.
    After each record what was read is removed from the root, so whatever else stands between
    two records is found there at the next one, and reported in its place.
    """
    _refuse_doctype_in_prolog(path)
    schema = _record_schema()
    events = etree.iterparse(
        str(path),
        events=("end",),
        tag=XML_RECORD,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    root = None
    count = 0
    try:
        for _, element in events:
            if root is None:
                root = _checked_root(element.getroottree().getroot())
            if element.getparent() is not root:
                continue  # nested in another element, which the schema rejects
            # The parser reads ahead: the root may already hold the next records, some half
            # read. Only what precedes this record's end, and the record itself, is complete.
            for other in root:
                count += 1
                yield _xml_record(other, count, schema)
                if other is element:
                    break
            while len(root) and root[0] is not element:
                del root[0]  # constant memory: forget what was read
            del root[0]
    except etree.XMLSyntaxError as error:
        raise FileRefused(_syntax_problem(error)) from None
    if root is None:
        root = _checked_root(events.root)
    for other in root:  # anything after the last record
        count += 1
        yield _xml_record(other, count, schema)
    if count == 0:
        raise FileRefused(f"Le fichier XML ne contient aucun élément <{XML_RECORD}>.")


def _checked_root(root: Any) -> Any:
    _refuse_doctype(root)
    _require_root(root)
    return root


def _refuse_doctype_in_prolog(path: Path) -> None:
    """A DOCTYPE is where external entities (XXE) and entity bombs live, and a deposit needs
    none: it is refused before parsing. Looked for in the prolog (what precedes the root
    element: the XML declaration, comments, processing instructions) because libxml2 may
    stop on a bomb before lxml shows the root, which would call the file « mal formé »."""
    with path.open("rb") as file:
        head = file.read(MAX_XML_PROLOG).removeprefix(codecs.BOM_UTF8)
    position = 0
    while (start := head.find(b"<", position)) != -1:
        if head.startswith(b"<!DOCTYPE", start):
            raise FileRefused(DOCTYPE_FORBIDDEN)
        closing = b"?>" if head.startswith(b"<?", start) else b"-->"
        if not head.startswith((b"<?", b"<!--"), start):
            return  # the root element: no DOCTYPE can come after it
        end = head.find(closing, start)
        if end == -1:
            break
        position = end + len(closing)
    if len(head) >= MAX_XML_PROLOG - len(codecs.BOM_UTF8):
        raise FileRefused(
            f"Le fichier XML ne commence pas par l'élément <{XML_ROOT}> dans ses "
            f"{MAX_XML_PROLOG // 1024} premiers Ko."
        )


def _refuse_doctype(root: Any) -> None:
    """The parser's own view, in case the prolog scan was fooled (a second line, cheap)."""
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.system_url or info.public_id:
        raise FileRefused(DOCTYPE_FORBIDDEN)


def _require_root(root: Any) -> None:
    if root.tag != XML_ROOT:
        raise FileRefused(
            f"L'élément racine du fichier XML doit être <{XML_ROOT}> ; trouvé : <{root.tag}>."
        )


def _xml_record(element: Any, number: int, schema: etree.XMLSchema) -> Record:
    location = f"enregistrement {number} (ligne {element.sourceline})"
    written = {child.tag: (child.text or "").strip() for child in element}
    if schema.validate(element):
        # Valid: every field is there once, in order; only the optional ones may be missing.
        written.update((name, "") for name in OPTIONAL_FIELDS if name not in written)
        return Record(location, written)
    fields = {name: written.get(name, "") for name in FIELDS}
    return Record(location, fields, _structure_problem(element, schema))


def _structure_problem(element: Any, schema: etree.XMLSchema) -> str:
    """Why the schema rejects a record, in words a depositor can act on; libxml2's own
    (English) message only for what the cases below do not foresee."""
    if element.tag != XML_RECORD:
        return (
            f"L'élément <{element.tag}> n'est pas attendu ici : un dépôt ne contient que des "
            f"éléments <{XML_RECORD}>."
        )
    if element.attrib:
        names = ", ".join(element.attrib)
        return f"L'élément <{XML_RECORD}> ne prend pas d'attribut (trouvé : {names})."
    tags = [child.tag for child in element]
    unknown = [tag for tag in tags if tag not in FIELDS]
    if unknown:
        return f"L'élément <{unknown[0]}> n'est pas un champ d'enregistrement."
    repeated = sorted({tag for tag in tags if tags.count(tag) > 1}, key=FIELDS.index)
    if repeated:
        return f"Le champ <{repeated[0]}> apparaît plusieurs fois."
    missing = [name for name in FIELDS if name not in tags and name not in OPTIONAL_FIELDS]
    if missing:
        names = ", ".join(f"<{name}>" for name in missing)
        return f"Champ absent : {names}." if len(missing) == 1 else f"Champs absents : {names}."
    if tags != sorted(tags, key=FIELDS.index):
        return f"Les champs ne sont pas dans l'ordre attendu : {', '.join(FIELDS)}."
    if (element.text or "").strip() or any((child.tail or "").strip() for child in element):
        return f"L'élément <{XML_RECORD}> contient du texte hors de ses champs."
    for child in element:
        if len(child) or child.attrib:
            return f"Le champ <{child.tag}> ne doit contenir que du texte."
        if len(child.text or "") > MAX_XML_VALUE:
            return f"Le champ <{child.tag}> dépasse {MAX_XML_VALUE} caractères."
    detail = schema.error_log.last_error.message if schema.error_log else ""
    return f"L'enregistrement ne respecte pas le schéma deposit.xsd ({detail})."


def _syntax_problem(error: etree.XMLSyntaxError) -> str:
    line = error.lineno or (error.position[0] if error.position else 0)
    if "UTF-8" in (error.msg or "") or "encoding" in (error.msg or "").lower():
        return (
            f"Le fichier XML n'est pas lisible à la ligne {line} : son contenu n'est pas dans "
            "l'encodage déclaré (UTF-8 par défaut). Enregistrez-le en UTF-8."
        )
    return (
        f"Le fichier XML est mal formé à la ligne {line} : vérifiez que chaque balise ouverte "
        "est refermée et que les caractères & et < du texte sont écrits &amp; et &lt; "
        f"(détail : {error.msg})."
    )


@cache
def _record_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))
