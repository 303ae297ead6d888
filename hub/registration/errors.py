"""What registration refuses, each error with the French sentence the person reads and the field
of the form it concerns. `code` is what the audit log keeps of the outcome."""

from __future__ import annotations

from hub.errors import Conflict, InvalidField, NotAllowed

# R10, as the seed words it: the applicant learns whom to ask for an account.
ADMIN_EXISTS = (
    "Votre structure dispose déjà d'un administrateur : {name}. Rapprochez-vous de cette "
    "personne pour qu'elle vous crée un compte."
)
EMAIL_TAKEN = (
    "Cette adresse e-mail est déjà utilisée par un compte des portails de la formation. "
    "Connectez-vous avec votre identifiant, ou utilisez « Mot de passe oublié ? » sur la page de "
    "connexion si vous ne le connaissez plus."
)
TERMS_NOT_ACCEPTED = (
    "Vous devez accepter les conditions générales d'utilisation (CGU) pour créer votre compte."
)
EXPIRED = (
    "Ce lien de validation a expiré : il n'était valable que 24 heures. Recommencez votre "
    "inscription ; rien n'a été créé."
)
CLOSED = (
    "Cette inscription est déjà validée : le compte existe. Connectez-vous avec l'identifiant "
    "qui vous a été envoyé par courriel."
)


class AdminAlreadyExists(NotAllowed):
    """R10: the structure already has an administrator on the portal, named in the message."""

    code = "admin_already_exists"
    status = 409

    def __init__(self, admin_name: str, *, attempt: dict | None = None) -> None:
        self.admin_name = admin_name
        super().__init__(ADMIN_EXISTS.format(name=admin_name), attempt=attempt)


class UnknownStructure(InvalidField):
    code = "unknown_structure"


class ContractMismatch(InvalidField):
    code = "contract_mismatch"


class UnknownCertifier(InvalidField):
    code = "unknown_certifier"


class EmailTaken(InvalidField):
    code = "email_taken"
    status = 409

    def __init__(self) -> None:
        super().__init__("email", EMAIL_TAKEN)


class TermsNotAccepted(InvalidField):
    code = "terms_not_accepted"

    def __init__(self) -> None:
        super().__init__("terms", TERMS_NOT_ACCEPTED)


class RegistrationClosed(Conflict):
    """The registration was completed already: its link, or its form sent again, does nothing."""

    code = "registration_closed"
    message = CLOSED


class RegistrationExpired(Conflict):
    """The validation link's 24 hours are over: the registration must start again."""

    code = "registration_expired"
    status = 410
    message = EXPIRED
