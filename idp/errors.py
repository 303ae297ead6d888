"""Error pages: French HTML for people, JSON for programs (`/api/…`, or `Accept:
application/json`). An error never shows a stack trace or an internal detail; unexpected
exceptions are logged by Flask (`app.log_exception`) before reaching `render_error` as a 500.

The OAuth endpoints answer their own errors (`invalid_request`, `invalid_client`…) as normal
responses, and `idp.input_guard` their oversized bodies; only what escapes them comes here.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


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
}
FALLBACK = ErrorText("Erreur", "La requête n'a pas pu être traitée.", "error")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, render_error)


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
    if wants_json():
        response = jsonify(error=text.code, error_description=message, message=message)
    else:
        response = Response(
            render_template("error.html", title=text.title, message=message, status=status),
            mimetype="text/html",
        )
    response.status_code = status
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def wants_json() -> bool:
    """API paths always get JSON; elsewhere the client's `Accept` header decides (a browser's
    `*/*` or `text/html` gets the page)."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"
