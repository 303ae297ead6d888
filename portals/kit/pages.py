"""Pages that only say something: refusals, errors, the hub being unavailable."""

from __future__ import annotations

from flask import render_template


def render_message(
    title: str,
    message: str,
    *,
    link: tuple[str, str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """A page with a title, one message and optionally one link (label, URL)."""
    return render_template("kit/message.html", title=title, message=message, link=link), status
