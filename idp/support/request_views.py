"""« Changer d'administrateur » (R11), the request anyone may file, signed in or not:
`GET /admin-change` shows the form (the portal, matricule and contract number may come filled
in from the link that led here: R10's page, R5's box, the sign-in page, « Mot de passe
oublié »); `POST /admin-change` files it through `hub.support.requests.file_request` and answers
with the request's number.

The answer is the same whether the structure exists or not. A form to correct answers 200 with
every field's message, throttling 429 with `Retry-After`, the cap on open requests 409.
"""

from __future__ import annotations

from flask import render_template, request
from sqlalchemy import select

from hub.clock import utcnow
from hub.errors import HubError, RequestInvalid, TooManyAdminChangeRequests
from hub.portals.models import Portal
from hub.support.requests import COMMENT_MAX, RequestForm, file_request
from hub.transactions import unit_of_work
from idp.extensions import db
from idp.support import request_forms
from idp.support.blueprint import bp
from idp.web.csrf import verify_csrf
from idp.web.throttle import client_address, retry_after

TITLE = "Changer d'administrateur"
FILED_TITLE = "Demande enregistrée"

Page = str | tuple[str, int] | tuple[str, int, dict[str, str]]


@bp.route("/admin-change", methods=["GET", "POST"])
def request_form() -> Page:
    if request.method == "GET":
        return _form_page(request_forms.prefilled(request.args))
    verify_csrf()
    form = request_forms.read(request.form)
    now = utcnow()
    try:
        with unit_of_work(db.session):
            filed = file_request(db.session, form, ip_address=client_address(), now=now)
            number, email, portal_name = filed.number, filed.email, filed.portal.name
    except RequestInvalid as invalid:
        return _form_page(form, errors=invalid.errors)
    except TooManyAdminChangeRequests as throttled:
        page = _form_page(form, refusal=throttled)
        return page, throttled.status, retry_after(throttled.until, now=now)
    except HubError as refused:  # the cap on open requests
        return _form_page(form, refusal=refused), refused.status
    return render_template(
        "support/request_filed.html",
        title=FILED_TITLE,
        number=number,
        email=email,
        portal_name=portal_name,
    )


def _form_page(
    form: RequestForm, *, errors: dict[str, str] | None = None, refusal: HubError | None = None
) -> str:
    portals = db.session.scalars(select(Portal).order_by(Portal.name)).all()
    return render_template(
        "support/request_form.html",
        title=TITLE,
        portals=portals,
        values=request_forms.values_of(form),
        errors=errors or {},
        refusal=refusal,
        comment_max=COMMENT_MAX,
    )
