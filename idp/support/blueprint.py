"""The support area's blueprint (R11): the public « Changer d'administrateur » request
(`requests`) and the operators' console under `/support` (`console`)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("support", __name__)
