"""What the authorization endpoint says to a person, in French, when it cannot send them back
to their portal with a code. R5's exact sentences live with the rule (`hub.oidc.access`)."""

from __future__ import annotations

INVALID_REQUEST_TITLE = "Demande de connexion invalide"
UNKNOWN_CLIENT = (
    "Le portail qui vous a envoyé ici n'est pas connu du hub d'identité. "
    "Revenez sur le portail et réessayez ; si le problème persiste, contactez le support."
)
UNKNOWN_REDIRECT_URI = (
    "L'adresse de retour demandée par le portail {portal} n'est pas enregistrée auprès du hub "
    "d'identité : par sécurité, vous n'y êtes pas renvoyé."
)
EXPIRED_TITLE = "Compte expiré"
NO_ACCOUNT_TITLE = "Aucun compte sur ce portail"
BACK_TO_PORTAL = "Retour au portail {portal}"
