"""`/dev/mail`: the mail the demo's catcher kept (`hub.mail.catcher`), so that a person trying
the demo reads their validation and password mails in the browser. Registered only when
`HUB_MAIL_CATCHER` is set: a production hub has no such page (404)."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, abort, current_app, render_template
from markupsafe import Markup, escape

from hub.clock import paris_datetime
from hub.mail.catcher import caught_mail, one_caught_mail
from idp.web.settings import settings_of

bp = Blueprint("mail_catcher", __name__, url_prefix="/dev/mail")

TITLE = "Courriels de démonstration"
_URL = re.compile(r"https?://[^\s<>\"']*[^\s<>\"'.,;:!?)]")  # without a sentence's final dot


def _folder() -> Path:
    folder = settings_of(current_app).mail_catcher
    assert folder is not None  # the blueprint is registered only then
    return folder


@bp.get("")
def index() -> str:
    return render_template("mail_catcher.html", title=TITLE, mails=caught_mail(_folder()))


@bp.get("/<name>")
def show(name: str) -> str:
    mail = one_caught_mail(_folder(), name)
    if mail is None:
        abort(404)
    return render_template("mail_catcher_message.html", title=mail.subject, mail=mail)


def linked(text: str) -> Markup:
    """The plain-text body, escaped, with its addresses made clickable (validation links)."""
    parts, done = [], 0
    for match in _URL.finditer(text):
        url = escape(match.group(0))
        parts += [escape(text[done : match.start()]), Markup(f'<a href="{url}">{url}</a>')]  # noqa: S704 - escaped
        done = match.end()
    parts.append(escape(text[done:]))
    return Markup("").join(parts)


bp.add_app_template_filter(linked, "linked")
bp.add_app_template_filter(paris_datetime, "paris_datetime")
