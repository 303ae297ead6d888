"""The page behind the link mailed to a new e-mail address (issue 6 §2): the person confirms with
a button, and only then does their address change. A GET changes nothing: mail filters that
open links to inspect them must not use the link up."""

from __future__ import annotations

from flask import current_app, render_template, request

from hub.clock import utcnow
from hub.email_changes import services
from hub.single_use_links import SingleUseLinks
from hub.transactions import unit_of_work
from idp.extensions import db
from idp.registration.blueprint import bp
from idp.web.csrf import verify_csrf
from idp.web.errors import refusals_titled
from idp.web.pages import render_message
from idp.web.settings import settings_of

TITLE = "Confirmer ma nouvelle adresse e-mail"
DONE_TITLE = "Adresse e-mail modifiée"
DONE = (
    "Votre adresse e-mail est désormais {email}. Elle sert pour tous les portails de la "
    "formation ; votre identifiant ne change pas."
)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
@refusals_titled(TITLE)
def confirm_email(token: str) -> str | tuple[str, int]:
    links, now = _links(), utcnow()
    if request.method == "GET":
        change = services.open_link(db.session, links, token, now=now)
        return render_template("email_change_confirm.html", title=TITLE, change=change)
    verify_csrf()
    with unit_of_work(db.session):
        change = services.confirm(db.session, links, token, now=now)
    portal = change.portal
    back = (f"Retourner sur {portal.name}", portal.base_url) if portal is not None else None
    return render_message(DONE_TITLE, DONE.format(email=change.new_email), link=back)


def _links() -> SingleUseLinks:
    settings = settings_of(current_app)
    return services.links(current_app.config["SECRET_KEY"], settings.public_url)
