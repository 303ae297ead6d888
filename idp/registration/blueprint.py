"""The registration area's blueprint: registration on a portal (`views`), the CGU, and the
confirmation of a new e-mail address (`email_changes`), the pages a mailed link opens."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("registration", __name__)
