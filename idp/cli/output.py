"""What every `hub` sub-command prints the same way: tables and errors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NoReturn

import click


def column_widths(rows: Iterable[Sequence[str]], *, at_least: Sequence[int]) -> list[int]:
    """The width of each column: its widest cell, and never narrower than `at_least`."""
    widths = list(at_least)
    for row in rows:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    return widths


def format_row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()


def header_lines(header: Sequence[str], widths: Sequence[int]) -> list[str]:
    return [format_row(header, widths), format_row(["-" * width for width in widths], widths)]


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, with a rule under the header: readable in a terminal
    without a pager, and stable enough to grep."""
    widths = column_widths(rows, at_least=[len(title) for title in header])
    return "\n".join([*header_lines(header, widths), *(format_row(row, widths) for row in rows)])


def fail_usage(message: str, *, code: int = 2) -> NoReturn:
    """Exit `code` (2: bad usage, as Click does; 1: refused) with a French message: Click's own
    reads « Error: »."""
    click.echo(f"Erreur : {message}", err=True)
    raise click.exceptions.Exit(code)
