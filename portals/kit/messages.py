"""Every sentence of the kit a person reads outside templates, written once and imported.

`ACCOUNT_EXPIRED` is R5's exact wording (DESIGN.md §2, the seed's screenshot); do not retype it.
"""

from __future__ import annotations

ACCOUNT_EXPIRED = "Votre compte est expiré. Veuillez contacter votre administrateur."

HUB_UNAVAILABLE_TITLE = "Service d'authentification indisponible"
HUB_UNAVAILABLE = (
    "Le service d'authentification ne répond pas pour le moment. Veuillez réessayer dans "
    "quelques instants."
)
SIGN_IN_FAILED_TITLE = "La connexion n'a pas abouti"
SIGN_IN_FAILED = "La connexion n'a pas pu être vérifiée. Veuillez recommencer."
SIGN_IN_REFUSED = "Le service d'authentification a refusé la connexion."
SIGN_IN_CANCELLED = "La connexion a été annulée."
SESSION_ENDED = "Votre session a pris fin. Veuillez vous reconnecter."
SIGNED_OUT = "Vous êtes déconnecté."
NO_ACCOUNT = "Vous n'avez pas de compte sur ce portail."
ACCOUNT_DELETED = "Votre compte sur ce portail a été supprimé."

CSRF_TITLE = "Formulaire expiré"
CSRF_FAILED = "Le formulaire a expiré ou ne provient pas de ce site. Veuillez réessayer."

RESTRICTED_TITLE = "Accès réservé"
ADMIN_ONLY = "Cette page est réservée aux administrateurs de votre structure sur ce portail."

PORTAL_NAMES = {"soltea": "SOLTÉA", "certificateurs": "Certificateurs"}
"""Portal names by code, for « Administrateur (via SOLTÉA) » (R9); unknown codes show as is."""

RIGHT_LABELS = {"data_exchange": "Transmettre et consulter les données"}


def right_missing(right: str) -> str:
    """R7: why a page is refused to an account without `right`."""
    label = RIGHT_LABELS.get(right, right)
    return f"Votre compte ne dispose pas du droit « {label} ». Contactez votre administrateur."


def right_not_delegated(right: str, via: str) -> str:
    """R7, R9: an administrator by delegation administers the accounts but holds no account of
    their own here, hence none of its rights."""
    label = RIGHT_LABELS.get(right, right)
    source = PORTAL_NAMES.get(via, via)
    return (
        f"Vous administrez cette structure depuis {source}, sans compte personnel sur ce portail : "
        f"le droit « {label} » appartient aux comptes du portail. Pour déposer vous-même, "
        "créez-vous un compte avec ce droit."
    )


NOTICES = {
    "account_expired": ACCOUNT_EXPIRED,
    "session_ended": SESSION_ENDED,
    "signed_out": SIGNED_OUT,
    "no_account": NO_ACCOUNT,
    "sign_in_cancelled": SIGN_IN_CANCELLED,
    "account_deleted": ACCOUNT_DELETED,
}
"""What the « Connexion » page may say after a redirect, by the short code kept in the
session (never a free text from the URL)."""
