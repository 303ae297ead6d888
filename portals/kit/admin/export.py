"""« Exporter (CSV) »: the filtered list of accounts, every page, as a spreadsheet opens it in
France — UTF-8 with a byte order mark, `;` between cells, French headers, Paris dates."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

from portals.kit.admin.listing import AccountRow, yes_no

BOM = "\ufeff"
HEADERS = (
    "Nom",
    "Prénom",
    "Identifiant",
    "Adresse électronique",
    "Service",
    "Rôle",
    "Transmettre et consulter les données",
    "Date de création",
    "Date d'expiration",
    "Statut",
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: str) -> str:
    """A value a spreadsheet will not run as a formula (OWASP « CSV injection »)."""
    return f"'{value}" if value.startswith(FORMULA_START) else value


def accounts_csv(rows: Iterable[AccountRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    for row in rows:
        writer.writerow(
            cell(value)
            for value in (
                row.last_name,
                row.first_name,
                row.username,
                row.email,
                row.service,
                row.role,
                "Non" if row.delegated else yes_no(row.data_exchange),
                row.created_on,
                row.expires_on,
                row.status,
            )
        )
    return BOM + buffer.getvalue()


def file_name(portal_code: str, matricule: str, day: str) -> str:
    """`comptes-certificateurs-100001-2026-11-23.csv`, with nothing a header could choke on."""
    safe = "-".join(re.sub(r"[^A-Za-z0-9_]+", "_", part) for part in (portal_code, matricule))
    return f"comptes-{safe}-{day}.csv"
