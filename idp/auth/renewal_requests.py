"""R5's box at the door, over the sign-in page of the portal (`expired_page`), and its
« Prévenir mon administrateur »: the person signed in at the hub asks their administrators on
that portal to renew the account (R4). `hub.accounts.renewal_requests` decides who is mailed
and how often."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for
from sqlalchemy import select

from hub.accounts.renewal_requests import request_renewal
from hub.clock import utcnow
from hub.oidc.access import ACCOUNT_EXPIRED, is_expired_on
from hub.portals.models import Portal, PortalLike
from hub.transactions import unit_of_work
from idp.auth import forms
from idp.auth.views import sign_in_page
from idp.extensions import db
from idp.web import messages
from idp.web.csrf import verify_csrf
from idp.web.pages import render_message
from idp.web.sessions import current_browser_session

bp = Blueprint("renewal_requests", __name__)


SENT = "Votre demande de renouvellement a été transmise aux administrateurs de votre structure."
ALREADY_ASKED = (
    "Vous avez déjà prévenu vos administrateurs aujourd'hui. Ils ont reçu votre demande ; "
    "vous pourrez la renouveler demain."
)
NOBODY = (
    "Votre structure n'a pas d'administrateur en mesure de renouveler ce compte. Contactez le "
    "support pour qu'un administrateur soit désigné."
)
SESSION_NEEDED = (
    "Votre session a pris fin. Reconnectez-vous depuis le portail pour prévenir votre "
    "administrateur."
)
NOT_EXPIRED = "Votre compte sur ce portail n'est pas expiré : il n'y a rien à renouveler."
PORTAL_CODE_MAX = 32


def expired_page(
    portal: PortalLike, *, notice: str | None = None, can_notify: bool = True
) -> tuple[str, int]:
    """R5 at the door, status 403 (the portal is not entered), as the guide shows it: the
    sign-in page of that portal under a box holding R5's sentence, « Prévenir mon
    administrateur » and « Fermer » (issue 13 §7).

    « Fermer » shows the page beneath, the same sign-in page without the box. The person stays
    signed in at the hub: closing a message signs nobody out. The form beneath comes back to
    the authorization request that met R5, so that signing in there as someone else (which
    ends this session, as any sign-in does) enters the portal as them; the same person meets
    R5 again."""
    destination = _beneath(portal)
    page = render_template(
        "expired.html",
        **sign_in_page(destination, portal=portal, login=destination.login_hint),
        box_title=messages.EXPIRED_TITLE,
        message=ACCOUNT_EXPIRED,
        back=messages.BACK_TO_PORTAL.format(portal=portal.name),
        notice=notice,
        can_notify=can_notify,
        close_url=url_for("auth.login", next=destination.next),
    )
    return page, 403


def _beneath(portal: PortalLike) -> forms.Destination:
    """Where the sign-in form under the box sends whoever signs in: the authorization request
    that met R5, which is the current request at `/authorize` and comes back in the form of
    « Prévenir mon administrateur » (`next`). Nowhere unless it is for this very portal."""
    if request.blueprint == bp.name:
        next_path = request.form.get(forms.NEXT_FIELD)
    else:
        query = urlencode(list(request.values.items(multi=True)))
        next_path = f"{request.script_root}{request.path}?{query}"
    destination = forms.destination(db.session, next_path)
    if destination.portal is None or destination.portal.code != portal.code:
        return forms.Destination()
    return destination


@bp.post("/account-expired/notify")
def notify() -> tuple[str, int]:
    verify_csrf()
    browser_session = current_browser_session()
    code = request.form.get("portal", "")[:PORTAL_CODE_MAX]
    portal = db.session.scalar(select(Portal).where(Portal.code == code)) if code else None
    if browser_session is None or portal is None:
        return render_message(messages.INVALID_REQUEST_TITLE, SESSION_NEEDED, status=400)
    now = utcnow()
    if not is_expired_on(db.session, browser_session.user_id, portal, now=now):
        return render_message(messages.INVALID_REQUEST_TITLE, NOT_EXPIRED, status=400)
    with unit_of_work(db.session):
        outcome = request_renewal(db.session, browser_session.user, portal, now=now)
    if outcome.already_asked:
        return expired_page(portal, notice=ALREADY_ASKED, can_notify=False)
    return expired_page(portal, notice=SENT if outcome.sent else NOBODY, can_notify=False)
