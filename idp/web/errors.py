"""Errors as answers, in one place: French HTML for people, JSON for programs (`/api/…`, or
`Accept: application/json`), OAuth's error object at the endpoints the portals' back ends call.
An error never shows a stack trace or an internal detail; unexpected exceptions are logged by
Flask (`app.log_exception`) before reaching `render_error` as a 500.

Two kinds of error arrive here, each through one handler registered once:
- HTTP errors (`abort(404)`, a 405, a 413…): `render_error`;
- the hub's domain errors (`hub.errors.HubError`) that a view lets through: `answer_refusal`,
  which answers as the caller reads answers — on the API `{"error", "message", "field"?}` with
  the error's status (`problem`); at the OAuth endpoints an OAuth error; on a
  page, the French message, under the title the view declared (`refusals_titled`) or else the
  status's.

A database that went away (`hub.errors.DatabaseUnavailable`, or a driver error that says so:
`hub.transactions.is_disconnect`) is answered by `answer_unavailable`: 503 with `Retry-After`,
`temporarily_unavailable` at the OAuth endpoints, JSON on the API, a French page for people —
never a 500. That answer also asks `idp.web.database_wait` to run the request again, once the
database is back, when it committed nothing: the client sees it only when the wait is over.

A view maps a refusal itself only when the answer needs what the view knows: a form shown again
with its fields, a link back to where the person came from. The authorization endpoint answers
its own protocol errors (`invalid_request`…, at the portal's redirect URI), and `idp.input_guard`
refuses hostile input before any view, with the surfaces below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Flask, Response, current_app, json, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from hub.errors import ConcurrentChange, DatabaseUnavailable, HubError, InvalidField
from hub.transactions import is_disconnect
from idp.web import database_wait
from idp.web.pages import render_message

View = TypeVar("View", bound=Callable[..., Any])


def problem(error: HubError) -> Response:
    """The API's answer to a domain error: `{"error", "message", "field"?}` with the error's
    HTTP status, so that portals can show the French message next to the right field."""
    body = {"error": error.code, "message": error.message}
    if isinstance(error, InvalidField):
        body["field"] = error.field
    response = jsonify(body)
    response.status_code = error.status
    return response


@dataclass(frozen=True)
class ErrorText:
    title: str
    message: str
    code: str  # the `error` member of the JSON body


TEXTS = {
    400: ErrorText("Requête invalide", "La requête est invalide.", "invalid_request"),
    401: ErrorText("Authentification requise", "Veuillez vous identifier.", "unauthorized"),
    403: ErrorText("Accès refusé", "Vous n'avez pas accès à cette page.", "forbidden"),
    404: ErrorText("Page introuvable", "Cette page n'existe pas.", "not_found"),
    405: ErrorText(
        "Méthode non autorisée",
        "Cette adresse n'accepte pas cette méthode.",
        "method_not_allowed",
    ),
    413: ErrorText(
        "Requête trop volumineuse",
        "Le formulaire envoyé est trop volumineux.",
        "request_too_large",
    ),
    429: ErrorText(
        "Trop de requêtes",
        "Trop de requêtes. Réessayez dans quelques minutes.",
        "too_many_requests",
    ),
    500: ErrorText("Erreur inattendue", "Une erreur inattendue s'est produite.", "server_error"),
    503: ErrorText(
        "Service momentanément indisponible",
        DatabaseUnavailable.message,
        DatabaseUnavailable.code,
    ),
}
FALLBACK = ErrorText("Erreur", "La requête n'a pas pu être traitée.", "error")

# The endpoints whose callers are the portals' back ends, reading OAuth's error object (RFC 6749
# §5.2, RFC 6750 §3.1, RFC 7009, RFC 7662): its `error_description` is ASCII, never French.
OAUTH_RULES = frozenset({"/token", "/oauth/revoke", "/oauth/introspect", "/userinfo"})
OAUTH_REFUSED = "The request was refused ({code})."
OAUTH_TRY_AGAIN = "The request met a concurrent change; try again."
OAUTH_UNAVAILABLE = "The service is temporarily unavailable; try again in a few seconds."


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(HubError, answer_refusal)
    app.register_error_handler(DatabaseUnavailable, answer_unavailable)
    app.register_error_handler(DBAPIError, answer_database_error)


def render_error(error: HTTPException) -> Response:
    """The page or JSON body for `error`, keeping its headers (`Allow` on a 405, `Retry-After`
    on a 429). A description given to `abort()` is shown unless it is werkzeug's English
    default; a 5xx always shows the generic message. An exception that carries its own response
    (`abort(response)`) keeps it."""
    if error.response is not None:
        return error.response
    status = error.code or 500
    text = TEXTS.get(status, FALLBACK)
    message = text.message
    own_description = error.description != type(error).description
    if status < 500 and own_description and error.description:
        message = error.description
    response = _error_answer(status, text.title, message, code=text.code)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def answer_refusal(error: HubError) -> Response:
    """A domain error a view let through, as its caller reads answers (see the module's
    docstring). Its French message and status are the error's own."""
    if request.path.startswith("/api/"):
        return problem(error)
    if is_oauth_endpoint():
        if isinstance(error, ConcurrentChange):
            return oauth_error(OAUTH_TRY_AGAIN, error="temporarily_unavailable", status=503)
        return oauth_error(OAUTH_REFUSED.format(code=error.code))
    title = _declared_title()
    if title is not None:
        page, status = render_message(title, error.message, status=error.status)
        return Response(page, status=status, mimetype="text/html")
    title = TEXTS.get(error.status, FALLBACK).title
    return _error_answer(error.status, title, error.message, code=error.code)


def answer_unavailable(error: DatabaseUnavailable) -> Response:
    """503 with `Retry-After` while the database is away, as the caller reads answers (see the
    module's docstring); `idp.web.database_wait` replays the request instead when it may."""
    database_wait.note_unavailable()
    if request.path.startswith("/api/"):
        response = jsonify(error=error.code, message=error.message)
        response.status_code = error.status
    elif is_oauth_endpoint():
        response = oauth_error(OAUTH_UNAVAILABLE, error=error.code, status=error.status)
    else:
        text = TEXTS[error.status]
        response = _error_answer(error.status, text.title, error.message, code=error.code)
    response.headers["Retry-After"] = str(error.retry_after_seconds)
    return response


def answer_database_error(error: DBAPIError) -> Response:
    """A driver error that no unit of work turned into the hub's own (a read outside one):
    the database gone is `answer_unavailable`; anything else is a bug, a 500 as ever."""
    if is_disconnect(error):
        return answer_unavailable(DatabaseUnavailable())
    raise error


def refusals_titled(title: str) -> Callable[[View], View]:
    """Declares that the refusals a page view lets through are shown as its own message page,
    under `title` (`answer_refusal`), rather than as an error page."""

    def declare(view: View) -> View:
        view.refusal_title = title  # type: ignore[attr-defined]
        return view

    return declare


def _declared_title() -> str | None:
    view = current_app.view_functions.get(request.endpoint or "")
    return getattr(view, "refusal_title", None)


def is_oauth_endpoint() -> bool:
    return request.url_rule is not None and request.url_rule.rule in OAUTH_RULES


def oauth_error(description: str, *, error: str = "invalid_request", status: int = 400) -> Response:
    """OAuth's error object, never cached (RFC 6749 §5.2)."""
    return Response(
        json.dumps({"error": error, "error_description": description}),
        status=status,
        mimetype="application/json",
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


def _error_answer(status: int, title: str, message: str, *, code: str) -> Response:
    if wants_json():
        response = jsonify(error=code, error_description=message, message=message)
    else:
        response = Response(
            render_template("error.html", title=title, message=message, status=status),
            mimetype="text/html",
        )
    response.status_code = status
    return response


def wants_json() -> bool:
    """API paths always get JSON; elsewhere the client's `Accept` header decides (a browser's
    `*/*` or `text/html` gets the page)."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"
