"""What registration refuses, each error with the French sentence the person reads and the field
of the form it concerns. `code` is what the audit log keeps of the outcome."""

from __future__ import annotations

from hub.errors import Conflict, InvalidField, NotAllowed

# R10, as the seed words it: the applicant learns whom to ask for an account.
ADMIN_EXISTS = (
    "Votre structure dispose déjà d'un administrateur : {name}. Rapprochez-vous de cette "
    "personne pour qu'elle vous crée un compte."
)
# One answer for every pair that is not a structure free to register on this portal — unknown
# matricule, a contract of another portal or of nobody — so that step 1 tells nobody which
# matricules exist or which contracts they hold (issue 12 §2).
UNKNOWN_PAIR = (
    "Le matricule et le numéro de contrat indiqués ne correspondent à aucune structure pouvant "
    "s'inscrire sur {portal}. Vérifiez les deux numéros sur le courrier de la Caisse des Dépôts "
    "qui vous les a communiqués."
)
UNKNOWN_CERTIFIER = (
    "Le matricule « {matricule} » ne correspond à aucun certificateur présent sur {portal}. "
    "Vérifiez-le auprès du certificateur pour lequel vous déposez."
)
EMAIL_TAKEN = (
    "Cette adresse e-mail est déjà utilisée par un compte des portails de la formation. "
    "Connectez-vous avec votre identifiant, ou utilisez « Mot de passe oublié ? » sur la page de "
    "connexion si vous ne le connaissez plus."
)
STEP_USED = (
    "Cette demande d'inscription a déjà été envoyée : consultez votre messagerie, ou "
    "recommencez en indiquant le matricule et le numéro de contrat de votre structure."
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


class UnknownPair(InvalidField):
    """Step 1's one refusal for a matricule and contract that name no structure free to
    register on the portal; `code` (what the audit log keeps) says which case it was."""

    def __init__(self, portal_name: str) -> None:
        super().__init__("contract", UNKNOWN_PAIR.format(portal=portal_name))


class UnknownStructure(UnknownPair):
    code = "unknown_structure"


class ContractMismatch(UnknownPair):
    code = "contract_mismatch"


class UnknownCertifier(InvalidField):
    code = "unknown_certifier"


class StepAlreadySent(Conflict):
    """Step 2 sent a second time with the same step token: each token mails once."""

    code = "registration_step_used"
    status = 400
    message = STEP_USED


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
