"""« Prévenir mon administrateur » on the expired-account page (R5): the person signed in at
the hub asks their administrators on that portal to renew the account (R4).
`hub.accounts.renewal_requests` decides who is mailed and how often."""

from __future__ import annotations

from typing import Protocol

from flask import Blueprint, render_template, request
from sqlalchemy import select

from hub.accounts.renewal_requests import request_renewal
from hub.clock import utcnow
from hub.oidc.access import ACCOUNT_EXPIRED, is_expired_on
from hub.portals.models import Portal
from hub.transactions import unit_of_work
from idp.extensions import db
from idp.web import messages
from idp.web.csrf import verify_csrf
from idp.web.pages import render_message
from idp.web.sessions import current_browser_session

bp = Blueprint("renewal_requests", __name__)


class PortalLike(Protocol):
    """A `Portal` or the registry's `PortalRecord`: what the page shows of the portal."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def base_url(self) -> str: ...


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
    """The page R5 shows at the door, status 403 (the portal is not entered)."""
    page = render_template(
        "expired.html",
        title=messages.EXPIRED_TITLE,
        message=ACCOUNT_EXPIRED,
        portal=portal,
        back=messages.BACK_TO_PORTAL.format(portal=portal.name),
        notice=notice,
        can_notify=can_notify,
    )
    return page, 403


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
