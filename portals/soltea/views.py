"""SOLTÉA's home: « Connexion » for visitors, the person's SOLTÉA accounts once signed in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from portals.kit import current_person, render_connexion

bp = Blueprint("soltea", __name__)


@bp.get("/", endpoint="home")
def home() -> Any:
    person = current_person()
    if person is None:
        return render_connexion()
    return render_template("soltea/home.html", person=person)
