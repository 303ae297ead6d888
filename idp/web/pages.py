"""Pages that only say something: errors, refusals, R5's expired-account message."""

from __future__ import annotations

from flask import render_template


def render_message(
    title: str,
    message: str,
    *,
    link: tuple[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """A page with a title, one message and optionally one link (label, URL), e.g. back to the
    portal the person came from."""
    return render_template("message.html", title=title, message=message, link=link), status
