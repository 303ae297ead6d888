"""The registration forms: their fields, what a submitted form holds, and the signed step token
that carries step 1's answer (the structure found, the certifiers) to step 2 without storing
anything before the person has given their details."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from itsdangerous import URLSafeSerializer
from werkzeug.datastructures import MultiDict

from hub.registration.lookup import LookupRequest
from hub.single_use_links import TOKEN_MAX, new_nonce, unexpired_payload
from idp.auth import passwords as password_pages

PORTAL_FIELD = "portal"
NEXT_FIELD = "next"
STEP_FIELD = "etape"
MATRICULE_FIELD = "matricule"
CONTRACT_FIELD = "contract"
DEPOSITOR_FIELD = "depositor"
CERTIFIERS_FIELD = "certifiers"
PASSWORD_FIELD = password_pages.NEW_FIELD  # the fields of every page where a password is chosen
CONFIRM_FIELD = password_pages.CONFIRM_FIELD
TERMS_FIELD = "terms"
APPLICANT_FIELDS = (
    "civility",
    "last_name",
    "first_name",
    "email",
    "service",
    "mobile_phone",
    "landline_phone",
)
TEXT_MAX = 300  # longer than any field accepts: the hub's cleaning says which one is too long
CERTIFIERS_MAX_LENGTH = 2000
STEP_LIFETIME = timedelta(hours=2)

STEP_EXPIRED = (
    "Votre demande d'inscription a expiré ou ne provient pas de ce site : recommencez en "
    "indiquant le matricule et le numéro de contrat de votre structure."
)


def read_lookup(form: MultiDict[str, str]) -> LookupRequest:
    return LookupRequest(
        matricule=form.get(MATRICULE_FIELD, "")[:TEXT_MAX],
        contract=form.get(CONTRACT_FIELD, "")[:TEXT_MAX],
        depositor=bool(form.get(DEPOSITOR_FIELD)),
        certifiers=form.get(CERTIFIERS_FIELD, "")[:CERTIFIERS_MAX_LENGTH],
    )


def read_applicant(form: MultiDict[str, str]) -> dict[str, str]:
    return {name: form.get(name, "")[:TEXT_MAX] for name in APPLICANT_FIELDS}


def empty_applicant() -> dict[str, str]:
    return dict.fromkeys(APPLICANT_FIELDS, "")


@dataclass(frozen=True)
class Step:
    """Step 1's answer, carried to step 2 (and checked again there). `nonce` is the token's
    own: step 2 mails once per token (`hub.registration.services.attempt_request`)."""

    portal: str
    lookup: LookupRequest
    next: str | None
    nonce: str = ""


@dataclass(frozen=True)
class StepTokens:
    """Signs `Step`s with the app's secret, valid `STEP_LIFETIME`: a person filling step 2
    takes minutes, not days."""

    secret_key: str

    def _serializer(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret_key, salt="hub.registration.step")

    def dumps(self, step: Step, *, now: datetime) -> str:
        """A new token for `step`, with a nonce of its own."""
        return self._serializer().dumps(
            {
                "portal": step.portal,
                "lookup": asdict(step.lookup),
                "next": step.next,
                "n": new_nonce(),
                "exp": int((now + STEP_LIFETIME).timestamp()),
            }
        )

    def loads(self, token: str, *, now: datetime) -> Step | None:
        """The step a token carries, or None when it is forged, tampered with or too old."""
        if not token or len(token) > 2 * TOKEN_MAX + CERTIFIERS_MAX_LENGTH:
            return None
        data = unexpired_payload(self._serializer(), token, now=now)
        if data is None or not isinstance(data.get("n"), str):
            return None
        return Step(
            portal=data["portal"],
            lookup=LookupRequest(**data["lookup"]),
            next=data["next"],
            nonce=data["n"],
        )
