"""Certificateurs' home: « Connexion » for visitors; once signed in, what the account may do
(R13) when it holds `data_exchange`, otherwise why it may not (R7)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from portals.kit import current_person, render_connexion
from portals.kit.messages import right_missing, right_not_delegated

bp = Blueprint("certificateurs", __name__)

DATA_EXCHANGE = "data_exchange"

DEPOSIT_MENUS = (
    ("Déposer un fichier", "Transmettre un fichier de données de certification."),
    ("Historique des dépôts", "Consulter l'historique des fichiers déposés."),
    ("Accusés", "Télécharger les accusés de réception et de traitement de vos dépôts."),
)
"""R13, as the help text words it; the deposit features themselves come in a later issue."""


@bp.get("/", endpoint="home")
def home() -> Any:
    person = current_person()
    if person is None:
        return render_connexion()
    may_exchange = person.has_right(DATA_EXCHANGE)
    via = person.delegated_from
    return render_template(
        "certificateurs/home.html",
        person=person,
        deposit_menus=DEPOSIT_MENUS if may_exchange else (),
        refusal=None if may_exchange else _refusal(via),
    )


def _refusal(via: str | None) -> str:
    return right_not_delegated(DATA_EXCHANGE, via) if via else right_missing(DATA_EXCHANGE)
