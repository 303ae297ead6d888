"""Certificateurs' home: « Connexion » for visitors; once signed in, the deposit menus (R13)
for whoever may deposit, otherwise why they may not (R7, R9)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from portals.certificateurs.rights import current_rights
from portals.kit import current_person, render_connexion

bp = Blueprint("certificateurs", __name__)

DEPOSIT_MENUS = (
    ("Déposer un fichier", "Transmettre un fichier de données de certification.", "depots.new"),
    ("Historique des dépôts", "Consulter l'historique des fichiers déposés.", "depots.history"),
    (
        "Accusés",
        "Télécharger les accusés de réception et de traitement de vos dépôts, depuis l'historique.",
        "depots.history",
    ),
)
"""R13, as the help text words it, and the page each menu opens."""


@bp.get("/", endpoint="home")
def home() -> Any:
    person = current_person()
    if person is None:
        return render_connexion()
    rights = current_rights()
    assert rights is not None  # a person is signed in
    return render_template(
        "certificateurs/home.html",
        person=person,
        deposit_menus=DEPOSIT_MENUS if rights.may_deposit else (),
        refusal=rights.refusal,
    )
