"""Step 4 of registration (R1, R12): the page behind the link mailed at step 3. The person
chooses a password; then the person, their first-admin account and the mandates are created in
one transaction (`hub.registration.completion`) and the person is signed in — sent back to the
portal's authorization request when registration began there (`prompt=create`), else shown
their identifiant with a link to the portal. When the address already belongs to someone, its
holder signs in (or uses « Mot de passe oublié ? ») and confirms in one click: the account joins
their identity (R14).

A link that opens nothing (forged, expired, used) or a form sent again after success says so
(404, 410, 409); R10 found at this step names the administrator (409). All of it is audited.
"""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for

from hub.clock import utcnow
from hub.errors import AdminAlreadyExists, HubError, LinkRefused, RegistrationClosed
from hub.passwords import hash_password
from hub.registration import completion, services
from hub.registration.models import Registration
from hub.single_use_links import LinkProblem
from hub.transactions import end_reading, retried, unit_of_work
from hub.users import password_policy
from hub.users.models import User
from hub.users.services import available_username
from idp.auth import forms as signin_forms
from idp.auth.passwords import new_password_errors
from idp.extensions import db
from idp.registration import forms
from idp.registration.blueprint import bp
from idp.registration.views import TITLE, Page, links, verify_form
from idp.web.pages import render_message
from idp.web.sessions import sign_in, signed_in_as
from idp.web.settings import settings_of
from idp.web.throttle import client_address

DONE_TITLE = "Votre compte est créé"
DONE = (
    "Votre inscription est terminée : vous êtes l'administrateur de {structure} sur {portal}. "
    "Votre identifiant est {username} ; il sert, avec le mot de passe que vous venez de "
    "choisir, pour tous les portails de la formation. Il vous a aussi été envoyé par courriel."
)
JOIN_TITLE = "Terminez votre inscription"
JOINED = (
    "Votre inscription est terminée : vous êtes l'administrateur de {structure} sur {portal}. "
    "Ce compte est ajouté à votre identifiant {username}, qui sert pour tous les portails de la "
    "formation."
)


@bp.route("/register/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Page:
    """Step 4: the link mailed at step 3; the password, then everything is created at once —
    or, for an address the hub knows, its holder signs in and adds the account to their
    identity in one click."""
    if request.method == "POST":
        verify_form("password")
    now = utcnow()
    try:
        registration = services.open_link(db.session, links(), token, now=now)
    except LinkRefused as refused:
        return _link_refused(refused, step="password" if request.method == "POST" else "link")
    admin_name = completion.administrator_named(db.session, registration, now=now)
    if admin_name is not None:
        _audit_refused_completion(registration, AdminAlreadyExists.code)
        return render_message(TITLE, AdminAlreadyExists(admin_name).message, status=409)
    holder = services.holder_of(db.session, registration.email)
    if holder is not None:
        return _join(registration, holder)
    username = available_username(db.session, registration.first_name, registration.last_name)
    if request.method == "GET":
        return _password_page(registration, username)
    errors = _password_errors(username, registration.email)
    if errors:
        _audit_refused_completion(registration, "password:" + ",".join(sorted(errors)))
        return _password_page(registration, username, errors=errors)
    return _complete(registration, password=request.form[forms.PASSWORD_FIELD])


def _join(registration: Registration, holder: User) -> Page:
    """Step 4 for an address the hub knows: its holder, signed in, adds the structure's account
    to their identity. Anyone else (nobody signed in, or another person) signs in first, and
    comes back here; a temporary password (R14) is replaced before anything else."""
    elsewhere = signed_in_as(holder)
    if elsewhere is not None:
        return elsewhere
    if request.method == "GET":
        return render_template(
            "register_join.html", title=JOIN_TITLE, registration=registration, user=holder
        )
    return _complete(registration, holder=holder)


def _complete(
    registration: Registration, *, password: str | None = None, holder: User | None = None
) -> Page:
    registration_id, structure_id = registration.id, registration.structure_id
    end_reading(db.session)  # the slow hash runs outside any transaction
    password_hash = (
        hash_password(password, settings_of(current_app).passwords) if password else None
    )
    try:
        done = _completed(registration_id, structure_id, password_hash, holder)
    except AdminAlreadyExists as error:  # a concurrent registration won; audited on rollback
        return render_message(TITLE, error.message, status=409)
    except HubError as error:
        _audit_refused_completion(db.session.get_one(Registration, registration_id), error.code)
        return _closed_page(registration, error)
    next_path = signin_forms.safe_next(done.next_path)
    if next_path is not None:
        return redirect(next_path, 303)
    account = done.account
    message = (JOINED if holder is not None else DONE).format(
        structure=account.structure.name, portal=account.portal.name, username=account.user.username
    )
    link = (f"Aller sur {account.portal.name}", account.portal.base_url)
    return render_message(DONE_TITLE, message, link=link)


def _completed(
    registration_id: int, structure_id: int, password_hash: str | None, holder: User | None
) -> completion.Completion:
    """`completion.complete` and the sign-in of a new person in one transaction, tried again
    should the database fail to serialise it with a concurrent one (it then starts over on
    fresh data). A known holder is signed in already."""

    def once() -> completion.Completion:
        with unit_of_work(db.session):
            done = completion.complete(
                db.session,
                registration_id,
                structure_id=structure_id,
                password_hash=password_hash,
                holder=holder,
                now=utcnow(),
            )
            if holder is None:
                sign_in(done.user)
        return done

    return retried(once, session=db.session)


def _closed_page(registration: Registration, error: HubError) -> Page:
    if isinstance(error, RegistrationClosed):
        portal = registration.portal
        return render_message(
            TITLE, error.message, link=(f"Aller sur {portal.name}", portal.base_url), status=409
        )
    return render_message(TITLE, error.message, link=_restart(registration), status=error.status)


def _link_refused(refused: LinkRefused[Registration], *, step: str) -> Page:
    with unit_of_work(db.session):
        services.record_refused_link(
            db.session, refused, ip_address=client_address(), now=utcnow(), step=step
        )
    registration = refused.request
    if refused.problem is LinkProblem.USED and registration is not None:
        return _closed_page(registration, RegistrationClosed())
    link = _restart(registration) if registration is not None else None
    return render_message("Lien de validation", refused.message, link=link, status=refused.status)


def _audit_refused_completion(registration: Registration, reason: str) -> None:
    with unit_of_work(db.session):
        completion.record_refused_completion(
            db.session, registration, reason, ip_address=client_address(), now=utcnow()
        )


def _restart(registration: Registration) -> tuple[str, str]:
    return (
        "Recommencer l'inscription",
        url_for("registration.structure", portal=registration.portal.code),
    )


def _password_errors(username: str, email: str) -> dict[str, str]:
    password = request.form.get(forms.PASSWORD_FIELD, "")
    confirmation = request.form.get(forms.CONFIRM_FIELD, "")
    return new_password_errors(password, confirmation, username=username, email=email)


def _password_page(
    registration: Registration, username: str, *, errors: dict[str, str] | None = None
) -> str:
    return render_template(
        "register_password.html",
        title="Choisissez votre mot de passe",
        registration=registration,
        username=username,
        errors=errors or {},
        rules=password_policy.RULES,
        fields=forms,
    )
