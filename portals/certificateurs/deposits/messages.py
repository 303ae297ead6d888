"""Every French sentence the deposit engine says to a person (refusals, states, receipts):
written once here, imported by the service, the receipts and the pages."""

from __future__ import annotations

EMPTY_FILE = "Le fichier est vide : aucun dépôt n'a été enregistré."
INVALID_FILENAME = (
    "Le nom du fichier n'est pas valide : renommez le fichier (lettres, chiffres, tirets) "
    "puis déposez-le à nouveau."
)
UNKNOWN_DUPLICATE = "Ce fichier n'a jamais été déposé pour ce certificateur : déposez-le à nouveau."
NOT_PROCESSED_YET = (
    "Le dépôt n'est pas encore traité : l'accusé de traitement sera disponible à la fin du "
    "traitement."
)
STATE_LABELS = {
    "received": "Reçu",
    "processing": "En cours",
    "processed": "Traité",
    "rejected": "Rejeté",
}
PROCESSING_FAILED = "Le fichier n'a pas pu être traité."

RECEPTION_TITLE = "Accusé de réception"
PROCESSING_TITLE = "Accusé de traitement"


def too_large(max_bytes: int) -> str:
    return (
        f"Le fichier dépasse la taille maximale autorisée ({human_size(max_bytes)}) : "
        "aucun dépôt n'a été enregistré."
    )


def duplicate(number: str, received_at: str) -> str:
    return (
        f"Ce fichier a déjà été déposé pour ce certificateur le {received_at} "
        f"(dépôt {number}). Confirmez-vous ce nouveau dépôt ?"
    )


def human_size(size: int) -> str:
    """« 50 Mo », « 1,5 Ko », « 12 octets »: sizes as the French pages write them."""
    if size < 1024:
        return f"{size} octet{'s' if size > 1 else ''}"
    for unit, factor in (("Go", 1024**3), ("Mo", 1024**2), ("Ko", 1024)):
        if size >= factor:
            value = f"{size / factor:.1f}".removesuffix(".0").replace(".", ",")
            return f"{value} {unit}"
    raise AssertionError("unreachable")
