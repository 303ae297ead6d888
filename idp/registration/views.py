"""Registration on a portal (R1, R10, R12), reached from a portal's « Créer un compte »
(`prompt=create`, which comes here with `portal` and `next`) or from the hub's sign-in page:

1. `/register` — matricule and contract number (and, for a mandated depositor, the certifiers'
   matricules); a structure that already has an administrator is refused with their name (R10).
   Throttled per address.
2. the person's details and the CGU (`/cgu`);
3. a mail with the validation link; nothing is created yet;
4. `/register/confirm/<token>` (`idp.registration.confirmation`) — the person chooses a
   password and is created, first administrator of the structure on the portal (R1), and
   signed in: back to the portal's authorization request when registration began there, else a
   page with the identifiant.

Views parse, call `hub.registration` and render; refusals answer with the page and a French
message (200 for a form to correct, 409 for R10, 429 when throttled).
"""

from __future__ import annotations

from flask import Response, current_app, render_template, request, url_for
from sqlalchemy import select

from hub.clock import utcnow
from hub.errors import (
    AdminAlreadyExists,
    ApplicantInvalid,
    HubError,
    InvalidField,
    StepAlreadySent,
    TooManyLookups,
)
from hub.portals.models import Portal
from hub.registration import lookup, services
from hub.registration.terms import TERMS_IN_FORCE_SINCE, TERMS_VERSION
from hub.single_use_links import SingleUseLinks
from hub.structures.models import MANDATE_PORTALS
from hub.transactions import end_reading, unit_of_work
from idp.auth import forms as signin_forms
from idp.extensions import db
from idp.registration import forms
from idp.registration.blueprint import bp
from idp.web.csrf import csrf_valid, verify_csrf
from idp.web.pages import render_message
from idp.web.settings import settings_of
from idp.web.throttle import client_address, retry_after

TITLE = "Créer un compte"
SENT_TITLE = "Vérifiez votre messagerie"
UNKNOWN_PORTAL = (
    "Choisissez le portail sur lequel vous souhaitez créer le compte de votre structure."
)

Page = str | Response | tuple[str, int] | tuple[str, int, dict[str, str]]


@bp.get("/cgu")
def terms() -> str:
    return render_template(
        "cgu.html",
        title="Conditions générales d'utilisation",
        version=TERMS_VERSION,
        since=TERMS_IN_FORCE_SINCE,
    )


@bp.route("/register", methods=["GET", "POST"])
def structure() -> Page:
    """Step 1; its POST answers with step 2 once the structure is found and free (R10)."""
    portal = _portal(request.values.get(forms.PORTAL_FIELD))
    if portal is None:
        return _choose_portal()
    next_path = _next_for(portal, request.values.get(forms.NEXT_FIELD))
    if request.method == "GET":
        return _structure_page(portal, next_path, forms.read_lookup(request.args))
    verify_form("structure")
    asked = forms.read_lookup(request.form)
    refused = _throttled(portal, asked, next_path)
    if refused is not None:
        return refused
    try:
        with unit_of_work(db.session):
            found = lookup.attempt_look_up(
                db.session, portal, asked, ip_address=client_address(), now=utcnow()
            )
    except HubError as refused:
        return _structure_page(portal, next_path, asked, error=refused)
    step = forms.Step(portal=portal.code, lookup=asked, next=next_path)
    return _person_page(found, step, forms.empty_applicant(), errors={})


@bp.post("/register/person")
def person() -> Page:
    """Steps 2 and 3: the person's details and the CGU; the validation link is mailed."""
    verify_form("person")
    now = utcnow()
    step = _tokens().loads(request.form.get(forms.STEP_FIELD, ""), now=now)
    portal = _portal(step.portal) if step is not None else None
    if step is None or portal is None:
        restart = url_for("registration.structure", portal=step.portal if step else None)
        return render_message(TITLE, forms.STEP_EXPIRED, link=("Recommencer", restart), status=400)
    applicant = forms.read_applicant(request.form)
    refused = _throttled(portal, step.lookup, step.next)
    if refused is not None:
        return refused
    try:
        with unit_of_work(db.session):
            sent = services.attempt_request(
                db.session,
                portal,
                step.lookup,
                applicant,
                terms_accepted=bool(request.form.get(forms.TERMS_FIELD)),
                terms_version=TERMS_VERSION,
                next_path=step.next,
                step_nonce=step.nonce,
                ip_address=client_address(),
                now=now,
                links=links(),
            )
    except StepAlreadySent as used:
        restart = url_for("registration.structure", portal=portal.code)
        return render_message(TITLE, used.message, link=("Recommencer", restart), status=400)
    except ApplicantInvalid as invalid:
        return _person_page(invalid.lookup, step, applicant, errors=invalid.errors)
    except HubError as refused:  # the structure, checked again
        return _structure_page(portal, step.next, step.lookup, error=refused)
    return render_template(
        "register_sent.html",
        title=SENT_TITLE,
        email=sent.registration.email,
        portal=portal,
        hours=int(services.LINK_LIFETIME.total_seconds() // 3600),
    )


def verify_form(step: str) -> None:
    """`verify_csrf`, the refusal audited: a forged or replayed form is an attempt too."""
    if csrf_valid():
        return
    with unit_of_work(db.session):
        services.audit_attempt(
            db.session,
            "registration.form_refused",
            None,
            None,
            now=utcnow(),
            ip=client_address(),
            step=step,
        )
    verify_csrf()


def _throttled(portal: Portal, asked: lookup.LookupRequest, next_path: str | None) -> Page | None:
    """The 429 page when this address looked up too many structures lately (audited)."""
    now, address = utcnow(), client_address()
    until = lookup.refused_until(db.session, address, now=now)
    end_reading(db.session)
    if until is None:
        return None
    with unit_of_work(db.session):
        lookup.record_throttled(db.session, portal, ip_address=address, now=now)
    page = _structure_page(portal, next_path, asked, error=TooManyLookups())
    return page[0], 429, retry_after(until, now=now)


def _portal(code: str | None) -> Portal | None:
    if not code or len(code) > signin_forms.CLIENT_ID_MAX or not code.isprintable():
        return None
    return db.session.scalar(select(Portal).where(Portal.code == code))


def _next_for(portal: Portal, value: str | None) -> str | None:
    """`next` when it is an authorization request of this portal's client (`prompt=create`)."""
    destination = signin_forms.destination(db.session, value)
    if destination.portal is None or destination.portal.code != portal.code:
        return None
    return destination.next


def _choose_portal() -> tuple[str, int]:
    portals = db.session.scalars(select(Portal).order_by(Portal.name)).all()
    page = render_template(
        "register_portals.html", title=TITLE, message=UNKNOWN_PORTAL, portals=portals
    )
    return page, 404 if request.values.get(forms.PORTAL_FIELD) else 200


def _structure_page(
    portal: Portal,
    next_path: str | None,
    asked: lookup.LookupRequest,
    *,
    error: HubError | None = None,
) -> tuple[str, int]:
    field = error.field if isinstance(error, InvalidField) else None
    page = render_template(
        "register_structure.html",
        title=f"{TITLE} sur {portal.name}",
        portal=portal,
        next=next_path,
        asked=asked,
        error=error,
        field=field,
        mandates=portal.code in MANDATE_PORTALS,
        fields=forms,
    )
    return page, 409 if isinstance(error, AdminAlreadyExists) else 200


def _person_page(
    found: lookup.Lookup, step: forms.Step, applicant: dict[str, str], *, errors: dict[str, str]
) -> str:
    return render_template(
        "register_person.html",
        title=f"{TITLE} sur {found.portal.name}",
        found=found,
        step_token=_tokens().dumps(step, now=utcnow()),
        values=applicant,
        errors=errors,
        terms_version=TERMS_VERSION,
        fields=forms,
    )


def links() -> SingleUseLinks:
    settings = settings_of(current_app)
    return services.links(current_app.config["SECRET_KEY"], settings.public_url)


def _tokens() -> forms.StepTokens:
    return forms.StepTokens(current_app.config["SECRET_KEY"])
