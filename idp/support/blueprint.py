"""The support area's blueprint (R11): the public « Changer d'administrateur » request and the
operators' console under `/support`. Dates read as everywhere in the hub, in Paris time."""

from __future__ import annotations

from flask import Blueprint

from hub.clock import paris_date, paris_datetime
from hub.support.mails import spaced_phone

bp = Blueprint("support", __name__)
bp.add_app_template_filter(paris_date, "date")
bp.add_app_template_filter(paris_datetime, "datetime")
bp.add_app_template_filter(spaced_phone, "phone")
