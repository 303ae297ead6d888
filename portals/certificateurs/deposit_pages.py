"""Certificateurs' deposit pages (R13): « Déposer un fichier », the confirmation of a file
already deposited, one deposit with its receipts and rejected records, and « Historique des
dépôts ». Who may do what comes from the hub's claims (`portals.certificateurs.rights`); the
deposits themselves are the portal's own (`portals.certificateurs.deposits.service`).

A deposit or a file of a structure the person may not see answers 404, whatever the URL: the
service finds deposits only among the certifiers the person deposits for. While a deposit of
the page is not processed yet, the page refreshes itself every few seconds (a `<meta>`
refresh: the portal sends no script), so its state and progress show without a reload the
person must think of.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Request,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from portals.certificateurs.deposits import receipts, service
from portals.certificateurs.deposits.domain import Deposit, PersonRef
from portals.certificateurs.deposits.errors import (
    DepositNotFound,
    DepositRefused,
    DuplicateDeposit,
    ReceiptNotReady,
)
from portals.certificateurs.deposits.extension import current_deposits
from portals.certificateurs.deposits.messages import STATE_LABELS, human_size, too_large
from portals.certificateurs.rights import DepositRights, current_rights
from portals.kit import current_person, login_required
from portals.kit.clock import paris_date_time, utcnow
from portals.kit.messages import RESTRICTED_TITLE
from portals.kit.pages import render_message

bp = Blueprint("depots", __name__)

View = TypeVar("View", bound=Callable[..., Any])
Page = str | Response | tuple[str, int]

NEW_TITLE = "Déposer un fichier"
HISTORY_TITLE = "Historique des dépôts"
FILE_FIELD = "fichier"
CERTIFIER_FIELD = "certificateur"
REFRESH_SECONDS = 3
FORM_OVERHEAD = 64 * 1024  # the multipart envelope and the form's other fields
UPLOAD_BUFFER = 1024 * 1024  # what the multipart parser may hold in memory at once
PER_PAGE = 20
REJECTIONS_SHOWN = 200  # on the page; the accusé de traitement lists them all
PERIOD_MAX_LENGTH = 10


class DepositRequest(Request):
    """Certificateurs' requests: the upload accepts a file up to the deposits' limit (the kit
    keeps every other request to 1 MB), so that a larger one is refused before it is read.
    Werkzeug's multipart parser also holds up to `max_form_memory_size` in its buffer while it
    looks for the next boundary (the kit's 64 KB refuses any file larger than one read): the
    upload allows a few reads."""

    @property
    def max_content_length(self) -> int | None:  # type: ignore[override]
        if self.endpoint == "depots.new":
            return current_deposits().settings.max_bytes + FORM_OVERHEAD
        return super().max_content_length

    @property
    def max_form_memory_size(self) -> int | None:  # type: ignore[override]
        if self.endpoint == "depots.new":
            return UPLOAD_BUFFER
        return super().max_form_memory_size


def depositing(view: View) -> View:
    """Signed in (R5 mid-session is the kit's), with the right to deposit for someone (R7,
    R12); otherwise the page that says why and who can give it back."""

    @login_required
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        rights = current_rights()
        if rights is None or not rights.may_deposit:
            refusal = rights.refusal if rights is not None else None
            return render_message(RESTRICTED_TITLE, refusal or "", status=403)
        return view(rights, *args, **kwargs)

    return guarded  # type: ignore[return-value]


@bp.app_context_processor
def deposit_menu() -> dict[str, Any]:
    """`may_deposit()` for the menu of Certificateurs' pages."""

    def may_deposit() -> bool:
        rights = current_rights()
        return rights is not None and rights.may_deposit

    return {"may_deposit": may_deposit}


bp.add_app_template_filter(paris_date_time, "paris_datetime")


@bp.errorhandler(413)
def too_large_upload(_error: Exception) -> Page:
    rights = current_rights()
    if rights is None or not rights.may_deposit:
        return render_message(RESTRICTED_TITLE, too_large(current_deposits().settings.max_bytes))
    return _new_page(rights, error=too_large(current_deposits().settings.max_bytes), status=413)


@bp.route("/depots/nouveau", methods=["GET", "POST"], endpoint="new")
@depositing
def new(rights: DepositRights) -> Page:
    if request.method == "GET":
        return _new_page(rights)
    channel = rights.channel(request.form.get(CERTIFIER_FIELD, ""))
    if channel is None and not rights.for_several:
        channel = rights.channels[0]
    if channel is None:
        return _new_page(rights, error="Choisissez le certificateur pour lequel vous déposez.")
    upload = request.files.get(FILE_FIELD)
    if upload is None or not upload.filename:
        return _new_page(rights, error="Choisissez le fichier à déposer.", chosen=channel)
    try:
        deposit = service.receive(
            current_deposits(),
            stream=upload.stream,
            filename=upload.filename,
            certifier=channel.certifier,
            depositor=channel.depositor,
            person=_person(),
            now=utcnow(),
        )
    except DuplicateDeposit as duplicate:
        return _duplicate_page(duplicate, channel.certifier.matricule)
    except DepositRefused as refused:
        return _new_page(rights, error=refused.message, chosen=channel, status=422)
    return redirect(url_for("depots.show", number=deposit.number, recu=1), 303)


@bp.post("/depots/confirmer")
@depositing
def confirm(rights: DepositRights) -> Page:
    """« Déposer quand même »: the same content again, without sending the file again."""
    channel = rights.channel(request.form.get(CERTIFIER_FIELD, ""))
    if channel is None:
        abort(404)
    try:
        deposit = service.receive_confirmed_duplicate(
            current_deposits(),
            sha256=request.form.get("empreinte", "")[:64],
            filename=request.form.get("nom", "")[:255],
            certifier=channel.certifier,
            depositor=channel.depositor,
            person=_person(),
            now=utcnow(),
        )
    except DepositRefused as refused:
        return _new_page(rights, error=refused.message, chosen=channel, status=422)
    return redirect(url_for("depots.show", number=deposit.number, recu=1), 303)


@bp.get("/depots", endpoint="history")
@depositing
def history(rights: DepositRights) -> Page:
    certifier = request.args.get(CERTIFIER_FIELD) or None
    state = request.args.get("etat") or None
    since, until = _day(request.args.get("du")), _day(request.args.get("au"))
    found = service.history(
        current_deposits(),
        certifiers=rights.certifier_matricules,
        only_by=rights.mandates,
        certifier=certifier,
        state=state if state in STATE_LABELS else None,
        since=since,
        until=until,
        page=_page_number(request.args.get("page")),
        per_page=PER_PAGE,
    )
    return render_template(
        "certificateurs/deposits/history.html",
        title=HISTORY_TITLE,
        rights=rights,
        found=found,
        filters={"certificateur": certifier, "etat": state, "du": since, "au": until},
        states=STATE_LABELS,
        refresh=REFRESH_SECONDS if any(not d.finished for d in found.deposits) else None,
        human_size=human_size,
    )


@bp.get("/depots/<number>", endpoint="show")
@depositing
def show(rights: DepositRights, number: str) -> Page:
    deposit = _find(rights, number)
    ctx = current_deposits()
    shown = service.rejections(ctx, deposit, limit=REJECTIONS_SHOWN) if deposit.finished else []
    return render_template(
        "certificateurs/deposits/deposit.html",
        title=f"Dépôt {deposit.number}",
        deposit=deposit,
        rejections=shown,
        shown_max=REJECTIONS_SHOWN,
        just_received=request.args.get("recu") == "1",
        refresh=None if deposit.finished else REFRESH_SECONDS,
        human_size=human_size,
    )


@bp.get("/depots/<number>/accuse-de-reception.pdf", endpoint="reception_receipt")
@depositing
def reception_receipt(rights: DepositRights, number: str) -> Response:
    deposit = _find(rights, number)
    return _pdf(receipts.reception_receipt(deposit), f"accuse-reception-{deposit.number}.pdf")


@bp.get("/depots/<number>/accuse-de-traitement.pdf", endpoint="processing_receipt")
@depositing
def processing_receipt(rights: DepositRights, number: str) -> Page:
    deposit = _find(rights, number)
    try:
        pdf = receipts.processing_receipt(current_deposits(), deposit)
    except ReceiptNotReady as not_ready:
        return render_message("Accusé de traitement", not_ready.message, status=409)
    return _pdf(pdf, f"accuse-traitement-{deposit.number}.pdf")


@bp.get("/depots/<number>/fichier", endpoint="original")
@depositing
def original(rights: DepositRights, number: str) -> Response:
    deposit = _find(rights, number)
    return send_file(
        service.original(current_deposits(), deposit),
        as_attachment=True,
        download_name=deposit.filename,
        mimetype="text/csv" if deposit.format == "CSV" else "application/xml",
    )


def _person() -> PersonRef:
    person = current_person()
    assert person is not None  # `depositing` let the request through
    return PersonRef(person.sub, person.name)


def _find(rights: DepositRights, number: str) -> Deposit:
    try:
        return service.find(
            current_deposits(),
            number[:40],
            certifiers=rights.certifier_matricules,
            only_by=rights.mandates,
        )
    except DepositNotFound:
        abort(404)


def _new_page(
    rights: DepositRights,
    *,
    error: str | None = None,
    chosen: Any = None,
    status: int = 200,
) -> Page:
    page = render_template(
        "certificateurs/deposits/new.html",
        title=NEW_TITLE,
        rights=rights,
        error=error,
        chosen=chosen.certifier.matricule if chosen is not None else None,
        max_size=human_size(current_deposits().settings.max_bytes),
    )
    return page, status


def _duplicate_page(duplicate: DuplicateDeposit, certifier: str) -> Page:
    page = render_template(
        "certificateurs/deposits/duplicate.html",
        title="Fichier déjà déposé",
        duplicate=duplicate,
        certifier=certifier,
    )
    return page, 409


def _pdf(content: bytes, name: str) -> Response:
    response = current_app.response_class(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def _day(value: str | None) -> date | None:
    """A « du »/« au » filter (AAAA-MM-JJ, as the date field sends it); anything else is none."""
    if not value or len(value) > PERIOD_MAX_LENGTH:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 7 else 1
