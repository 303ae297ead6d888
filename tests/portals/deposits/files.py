"""Deposit files for the engine's tests, made on the fly: valid records, and one record in
every `reject_every` with a date that does not exist (rejected on `date_naissance`)."""

from __future__ import annotations

from pathlib import Path

HEADER = "code_certification;numero_candidat;nom;prenom;date_naissance;date_obtention;resultat"


def csv_lines(count: int, *, reject_every: int = 0) -> list[str]:
    lines = [HEADER]
    for number in range(1, count + 1):
        birth = "31/02/1990" if reject_every and number % reject_every == 0 else "12/03/1990"
        lines.append(f"RNCP{number};C{number:07d};Martin;Élodie;{birth};15/06/2025;admis")
    return lines


def csv_bytes(count: int, *, reject_every: int = 0, bom: bool = False) -> bytes:
    text = "\n".join(csv_lines(count, reject_every=reject_every)) + "\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def write_csv(path: Path, count: int, *, reject_every: int = 0) -> Path:
    path.write_bytes(csv_bytes(count, reject_every=reject_every))
    return path


def xml_bytes(count: int, *, reject_every: int = 0) -> bytes:
    parts = ['<?xml version="1.0" encoding="UTF-8"?>', "<depot>"]
    for number in range(1, count + 1):
        birth = "31/02/1990" if reject_every and number % reject_every == 0 else "12/03/1990"
        parts.append(
            "<enregistrement>"
            f"<code_certification>RS{number}</code_certification>"
            f"<numero_candidat>C{number:07d}</numero_candidat>"
            "<nom>Dupont</nom><prenom>Noé</prenom>"
            f"<date_naissance>{birth}</date_naissance>"
            "<date_obtention>15/06/2025</date_obtention>"
            "<resultat>admis</resultat>"
            "</enregistrement>"
        )
    parts.append("</depot>")
    return "\n".join(parts).encode()
