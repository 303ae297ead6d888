from __future__ import annotations

from flask.cli import AppGroup

command = AppGroup("mail")
