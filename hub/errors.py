"""The hub's domain errors, all of them: a service returns its result or raises one of these.

Each carries the French sentence a person should read (`message`), a stable `code` (what the
API answers and the audit log keeps) and the HTTP `status` that fits. The web layer maps them
in one place (`idp.web.errors`): a French message on a page, `{"error", "message", "field"}`
on the API, an OAuth error on the protocol endpoints.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Generic

from hub.clock import paris_date, to_paris
from hub.single_use_links import LinkProblem, R

if TYPE_CHECKING:
    from hub.registration.lookup import Lookup


class HubError(Exception):
    code = "hub_error"
    status = 400
    message = "La demande n'a pas pu être traitée."
    # True when the service that raised the error recorded it in the caller's transaction as the
    # outcome of an attempt that counts whatever its outcome (registration's look-up: a throttle
    # count, an audit event): `hub.transactions.unit_of_work` then commits that record instead
    # of rolling it back. Such a service writes nothing but the record before it refuses.
    recorded = False

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.message
        super().__init__(self.message)

    def as_recorded(self) -> HubError:
        """This error, marked `recorded` (see above)."""
        self.recorded = True
        return self


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


class DatabaseUnavailable(Exception):
    """The database went away (restarted, unreachable) and did not come back in time
    (`hub.database.is_disconnect` says which errors mean this). Nothing is wrong with the
    request, which may be sent again in a moment (`retry_after_seconds`).

    Not a `HubError`: it refuses nothing, and the views that show a refusal in their own form
    (`except HubError`) must let it through to the one answer that waits for the database and
    replays the request (`idp.web.database_wait`)."""

    code = "temporarily_unavailable"
    status = 503
    message = (
        "Le service est momentanément indisponible : votre demande n'a pas pu être traitée. "
        "Réessayez dans quelques instants."
    )
    retry_after_seconds = 5

    def __init__(self) -> None:
        super().__init__(self.message)


class LastAdministrator(Conflict):
    """The change would leave a structure active on a portal without any administrator."""

    code = "last_administrator"
    message = (
        "Cette structure doit conserver au moins un administrateur sur ce portail. "
        "Désignez d'abord un autre administrateur, ou contactez le support pour un changement "
        "d'administrateur."
    )


LINK_STATUS = {LinkProblem.INVALID: 404, LinkProblem.EXPIRED: 410, LinkProblem.USED: 409}


class LinkRefused(HubError, Generic[R]):
    """A link mailed to prove a mailbox (`hub.single_use_links`: a registration, an e-mail
    change, an invitation) that opens nothing. `problem` says why, and gives the stable `code`
    and the `status`; `request` is the stored request the link names, when one was found. Each
    flow tells the person in its own words, so the service that refuses gives the `message`."""

    def __init__(self, problem: LinkProblem, message: str, *, request: R | None = None) -> None:
        self.problem = problem
        self.request = request
        self.code = f"link_{problem.value}"
        self.status = LINK_STATUS[problem]
        super().__init__(message)


# --- Registration (R10, R12) -------------------------------------------------------------------

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
APPLICANT_INVALID = "Corrigez les champs signalés pour continuer votre inscription."
TOO_MANY_LOOKUPS = (
    "Trop de tentatives d'inscription depuis votre connexion. Réessayez dans une heure."
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


class TooManyLookups(HubError):
    """R10's look-up is throttled per address, and this address made too many lately."""

    code = "too_many_lookups"
    status = 429
    message = TOO_MANY_LOOKUPS


class StepAlreadySent(Conflict):
    """Step 2 sent a second time with the same step token: each token mails once."""

    code = "registration_step_used"
    status = 400
    message = STEP_USED


class ApplicantInvalid(HubError):
    """Step 2's details, several of them wrong at once: `errors` holds the message of each
    field, so that the form shows them all; `lookup` is the structure step 1 found (checked
    again), which the form shows again."""

    code = "applicant_invalid"
    message = APPLICANT_INVALID

    def __init__(self, errors: Mapping[str, str], *, lookup: Lookup) -> None:
        self.errors = dict(errors)
        self.lookup = lookup
        super().__init__()


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


# --- Mail outbox ----------------------------------------------------------------------------------


class UnknownMessage(HubError):
    code = "unknown_message"
    status = 404

    def __init__(self, message_id: int) -> None:
        super().__init__(f"Courriel inconnu : {message_id}.")


class NotFailed(HubError):
    """Only a failed message may be given fresh attempts; `status_label` is its status as
    operators read it (« envoyé », « en attente »)."""

    code = "message_not_failed"
    status = 409

    def __init__(self, message_id: int, status_label: str) -> None:
        super().__init__(f"Le courriel {message_id} n'est pas en échec (statut : {status_label}).")


# --- Reports and the structures referential -------------------------------------------------------


class UnknownPortal(NotFound):
    """A portal code that names no portal; the message lists the codes that do exist."""

    code = "unknown_portal"

    def __init__(self, unknown: Collection[str], known: Collection[str]) -> None:
        self.unknown = sorted(unknown)
        self.known = sorted(known)
        noun = "Portail inconnu" if len(self.unknown) == 1 else "Portails inconnus"
        existing = ", ".join(self.known) or "aucun"
        super().__init__(f"{noun} : {', '.join(self.unknown)}. Portails existants : {existing}.")


class ImportFileInvalid(HubError):
    """The referential's file as a whole cannot be read (encoding, header): nothing of it is
    imported. `line` is where the problem is, when there is one."""

    code = "import_file_invalid"

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


# --- Shared by several areas ----------------------------------------------------------------------


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


# --- Support operators' directory (R11) ---------------------------------------------------


class DirectoryRefused(HubError):
    """A support sign-in the directory does not allow: unknown identifiant, wrong password, or a
    person in neither support group. One message for all, so that the console is no oracle on
    the organisation's directory."""

    code = "directory_refused"
    status = 401
    message = "Identifiant ou mot de passe incorrect, ou compte sans accès à la console du support."


class DirectoryUnavailable(HubError):
    """The directory did not answer (down, unreachable, too slow, TLS refused)."""

    code = "directory_unavailable"
    status = 503
    message = (
        "L'annuaire de l'organisation ne répond pas : la connexion à la console du support est "
        "impossible pour le moment. Réessayez dans quelques minutes."
    )


# --- « Changer d'administrateur » requests (R11) -------------------------------------------


REQUEST_INVALID = "Votre demande n'a pas été envoyée : corrigez les champs signalés."
TOO_MANY_REQUESTS = (
    "Trop de demandes de changement d'administrateur ont été envoyées depuis votre connexion ou "
    "pour ce matricule. Réessayez à partir du {day} à {hour}."
)
TOO_MANY_OPEN_REQUESTS = (
    "Plusieurs demandes de changement d'administrateur sont déjà en attente pour ce matricule : "
    "le support les traite avant d'en accepter de nouvelles. Les personnes qu'elles désignent "
    "seront informées par courriel de la suite donnée."
)


class RequestInvalid(HubError):
    """A « Changer d'administrateur » form with fields to correct: `errors` holds the message of
    each, so that the form shows them all at once."""

    code = "request_invalid"
    message = REQUEST_INVALID

    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = dict(errors)
        super().__init__()


class TooManyAdminChangeRequests(HubError):
    """Too many requests filed lately from this address or for this matricule; `until` is when
    the next one will be accepted (the page's `Retry-After`)."""

    code = "too_many_admin_change_requests"
    status = 429

    def __init__(self, until: datetime) -> None:
        self.until = until
        super().__init__(
            TOO_MANY_REQUESTS.format(day=paris_date(until), hour=to_paris(until).strftime("%H:%M"))
        )


class TooManyOpenRequests(Conflict):
    """The matricule typed already has as many open requests as the support accepts. Counted by
    the matricule as typed, so that the refusal says nothing of whether it exists."""

    code = "too_many_open_requests"
    message = TOO_MANY_OPEN_REQUESTS


class UnknownRequest(NotFound):
    code = "unknown_request"
    message = "Cette demande n'existe pas."


class RequestClosed(Conflict):
    """The request was designated or refused already (perhaps by another operator a moment
    ago): nothing more can be done on it."""

    code = "request_closed"

    def __init__(self, status_label: str, by: str | None) -> None:
        who = f" par {by}" if by else ""
        super().__init__(
            f"Cette demande a déjà été traitée{who} (état : {status_label}) : elle ne peut plus "
            "être modifiée."
        )


class RequestHeld(Conflict):
    """Another operator has taken the request: one operator works on a request at a time."""

    code = "request_held"

    def __init__(self, holder: str) -> None:
        super().__init__(
            f"Cette demande est prise en charge par {holder} : seul cet opérateur peut la traiter."
        )


class ChecksNotMet(Conflict):
    """A designation needs the structure, its contract on the portal and its SIRET to match
    the referential: the hub will not name an administrator of a structure nobody proved."""

    code = "checks_not_met"
    message = (
        "Les vérifications ne sont pas toutes conformes (matricule, contrat ou SIRET) : "
        "refusez la demande, ou faites d'abord corriger le référentiel."
    )
