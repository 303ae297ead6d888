"""Domain errors. Each carries the French sentence a person should read and a stable code.

The web layer maps them: a French message on a page, `application/problem+json` on the API,
an OAuth error on protocol endpoints. `status` is the HTTP status that fits.
"""

from __future__ import annotations


class HubError(Exception):
    code = "hub_error"
    status = 400
    message = "La demande n'a pas pu être traitée."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.message
        super().__init__(self.message)


class InvalidField(HubError):
    """Bad input for one field; `field` names it so forms and APIs can point at it."""

    code = "invalid_field"
    status = 400

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class InvalidJson(HubError):
    """A JSON body that cannot be read: malformed, not UTF-8, or nested deeper than any request
    of the hub's needs (Python's parser would exhaust its recursion on it)."""

    code = "invalid_json"
    status = 400
    message = (
        "Le corps de la requête n'est pas un document JSON valide : vérifiez sa syntaxe, son "
        "encodage (UTF-8) et sa profondeur d'imbrication."
    )


class NotAllowed(HubError):
    """A refusal. `attempt` holds what the audit log keeps of the refused attempt (written by
    `hub.transactions.unit_of_work` once the refused transaction is rolled back)."""

    code = "forbidden"
    status = 403
    message = "Vous n'êtes pas autorisé à effectuer cette action."

    def __init__(self, message: str | None = None, *, attempt: dict | None = None) -> None:
        self.attempt = attempt
        super().__init__(message)


class NotFound(HubError):
    code = "not_found"
    status = 404
    message = "Élément introuvable."


class Conflict(HubError):
    code = "conflict"
    status = 409
    message = "Cette modification entre en conflit avec l'état actuel."


class ConcurrentChange(Conflict):
    """Another transaction changed the same data at the same moment; trying again is safe."""

    code = "concurrent_change"
    message = "Une autre modification est en cours sur ces données. Veuillez réessayer."


class LastAdministrator(Conflict):
    """The change would leave a structure active on a portal without any administrator."""

    code = "last_administrator"
    message = (
        "Cette structure doit conserver au moins un administrateur sur ce portail. "
        "Désignez d'abord un autre administrateur, ou contactez le support pour un changement "
        "d'administrateur."
    )


class NoContract(Conflict):
    code = "no_contract"
    message = "Cette structure ne dispose pas de contrat pour ce portail."


class AlreadyExists(Conflict):
    code = "already_exists"
    message = "Cet élément existe déjà."


class NotAdmitted(NotAllowed):
    """R5 at a portal's door: the person may not enter the portal (`hub.oidc.access`). `code`
    is what the portal reads (`access_denied`, `invalid_grant`) and what the audit log keeps."""


class AccountExpired(NotAdmitted):
    """R5: every account the person holds on the portal, their own or as a delegated admin
    (R9), has expired. The message is DESIGN.md's sentence, exactly."""

    code = "account_expired"
    message = "Votre compte est expiré. Veuillez contacter votre administrateur."


class NoAccount(NotAdmitted):
    """The person holds no account on the portal, neither their own nor as a delegated admin
    (R9): they are told whom to ask for one."""

    code = "no_account"

    def __init__(self, portal_name: str) -> None:
        super().__init__(
            f"Vous n'avez pas de compte sur {portal_name}. Pour y accéder, demandez à "
            "l'administrateur de votre structure sur ce portail de vous créer un compte."
        )
