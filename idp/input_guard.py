"""The input guard (issue 12 §1): what a request carries is checked once, before any view runs,
so that no value a database or a parser cannot take goes further. PostgreSQL refuses NUL in
text, Python's JSON parser exhausts its recursion on a thousand nested brackets, and UTF-8 has
no encoding for a lone surrogate: each was a 500 before.

Refused, with a 400:
- a control character (Unicode category Cc: C0, DEL, C1) or a lone surrogate in any query
  parameter, form field name, JSON member name or JSON string, and in the headers the hub looks
  up or stores (`idp.web.characters.CHECKED_HEADERS`). A URL or a single-line field never holds one;
- except tab, line feed and carriage return in the form fields a person types freely
  (`FREE_TEXT_FIELDS`): a textarea's lines, and passwords, which are only ever hashed and may
  hold a pasted tab (refusing it would lock its holder out);
- a JSON body (`application/json`) that is malformed, not UTF-8, or nested deeper than
  `MAX_JSON_DEPTH`: `invalid_json` (`GuardedRequest`).

The authorization endpoint checks its own parameters (`OWN_PARAMETER_CHECKS`), with the same
predicate (`holds_control_characters`), so that OAuth's rule on where errors go still holds.

Invalid UTF-8 in a query string or a urlencoded form is no error: werkzeug keeps such bytes
percent-encoded (`%FF` stays three characters), a multipart form reads them as U+FFFD, and both
are plain text the views' own checks judge. A body above `Settings.max_request_bytes` is
refused with 413, like a form field above `MAX_FORM_MEMORY_SIZE`.

A refusal is answered as its caller reads answers: a French page for people, `{"error",
"message", "field"}` for `/api`, and OAuth's `invalid_request` (an ASCII description, RFC 6749
§5.2) at the endpoints the portals' back ends call (`idp.web.errors.OAUTH_RULES`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, Request, Response, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from hub.errors import HubError, InvalidField, InvalidJson
from idp.auth import forms as signin_forms
from idp.auth import passwords
from idp.registration import forms as registration_forms
from idp.support import request_forms as admin_change_forms
from idp.web.characters import CONTROL_OR_SURROGATE, has_body, refused_header
from idp.web.errors import is_oauth_endpoint, oauth_error, problem, render_error

MAX_JSON_DEPTH = 32  # the API's bodies are two levels deep
FREE_TEXT_FIELDS = frozenset(
    {
        registration_forms.CERTIFIERS_FIELD,  # a <textarea>
        admin_change_forms.COMMENT_FIELD,  # a <textarea>
        signin_forms.PASSWORD_FIELD,
        passwords.CURRENT_FIELD,
        passwords.NEW_FIELD,
        passwords.CONFIRM_FIELD,
    }
)
# The authorization endpoint answers a registered portal `invalid_request` at its redirect URI
# (RFC 6749 §4.1.2.1), and anyone else its own page, rather than the guard's page.
OWN_PARAMETER_CHECKS = frozenset({"/authorize"})

_TYPED_WHITESPACE = re.compile("[\t\n\r]")
_CLEAN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")

PAGE_MESSAGE = (
    "L'adresse ou le formulaire contient des caractères non autorisés (caractères de "
    "contrôle). Vérifiez-les et réessayez."
)
FIELD_MESSAGE = "« {name} » contient des caractères non autorisés (caractères de contrôle)."
REQUEST_MESSAGE = "La requête contient des caractères non autorisés (caractères de contrôle)."
OAUTH_DESCRIPTIONS = {
    "invalid_field": "The request holds control characters.",
    "invalid_json": "The JSON body is malformed or too deeply nested.",
}
OAUTH_TOO_LARGE = "Request body too large."


class Parameters(ImmutableMultiDict[str, str]):
    """A query's or a form's parameters. `get` without `type` looks the key up once: werkzeug's
    raises and catches a `KeyError` for every absent key, and the protocol asks for many
    optional parameters that requests leave out (about a microsecond each)."""

    def get(self, key: str, default: Any = None, type: Any = None) -> Any:
        if type is not None:
            return super().get(key, default, type)
        values = dict.get(self, key)
        return values[0] if values else default


class GuardedRequest(Request):
    """The hub's request: a JSON body that cannot be read raises `InvalidJson`, one nested too
    deeply for Python's parser (RecursionError, which `get_json` does not expect) included.
    Its parameters are `Parameters`."""

    parameter_storage_class = Parameters

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError as error:
            if silent:
                return None
            raise InvalidJson() from error

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:  # not JSON at all: Flask's 415
            return super().on_json_loading_failed(e)
        raise InvalidJson() from e


def init_app(app: Flask) -> None:
    app.request_class = GuardedRequest
    app.before_request(refuse_hostile_input)
    app.register_error_handler(InvalidJson, refusal)


def refuse_hostile_input() -> Response | None:
    """`before_request`: None when the request may go on, else the answer that refuses it."""
    try:
        fault = _fault()
    except InvalidJson as error:
        return refusal(error)
    except RequestEntityTooLarge:
        if is_oauth_endpoint():
            return oauth_error(OAUTH_TOO_LARGE, status=413)
        raise
    return None if fault is None else refusal(fault)


def refusal(error: HubError) -> Response:
    """The 400 that refuses the request, in the form its caller reads."""
    if is_oauth_endpoint():
        return oauth_error(OAUTH_DESCRIPTIONS[error.code])
    if request.path.startswith("/api/"):
        return problem(error)
    message = error.message if isinstance(error, InvalidJson) else PAGE_MESSAGE
    return render_error(BadRequest(description=message))


def _fault() -> InvalidField | None:
    """The first value the request may not carry, named by where it was found. Every request
    passes here: what it does not carry (a query, a body) is not parsed to be looked at."""
    environ = request.environ
    header = refused_header(environ)
    if header is not None:
        return _invalid(header, "header")
    if not _checks_its_own_parameters():
        fault = None
        if environ.get("QUERY_STRING"):
            fault = _in_pairs(request.args.items(multi=True), "query", free_text=frozenset())
        if fault is None and has_body(environ):
            form = request.form.items(multi=True)
            fault = _in_pairs(form, "body", free_text=FREE_TEXT_FIELDS)
        if fault is not None:
            return fault
    content_type = environ.get("CONTENT_TYPE", "")
    if "json" in content_type.lower() and request.is_json and request.get_data(cache=True):
        return _in_json(request.get_json())
    return None


def _in_pairs(
    pairs: Iterable[tuple[str, str]], where: str, *, free_text: frozenset[str]
) -> InvalidField | None:
    for name, value in pairs:
        if CONTROL_OR_SURROGATE.search(name):
            return _invalid("", where)
        refused = CONTROL_OR_SURROGATE.findall(value)
        if name in free_text:
            refused = [char for char in refused if not _TYPED_WHITESPACE.match(char)]
        if refused:
            return _invalid(name, where)
    return None


def _in_json(body: Any) -> InvalidField | None:
    """The member of `body` holding a refused string or name; walked without recursion, so
    that depth is counted rather than exhausted."""
    pending: list[tuple[Any, int, str]] = [(body, 1, "")]
    while pending:
        value, depth, member = pending.pop()
        if depth > MAX_JSON_DEPTH:
            raise InvalidJson()
        if isinstance(value, str) and CONTROL_OR_SURROGATE.search(value):
            return _invalid(member, "body")
        if isinstance(value, dict):
            for name, item in value.items():
                if CONTROL_OR_SURROGATE.search(name):
                    return _invalid("", "body")
                pending.append((item, depth + 1, name if depth == 1 else member))
        elif isinstance(value, list):
            pending.extend((item, depth + 1, member) for item in value)
    return None


def _invalid(name: str, where: str) -> InvalidField:
    """`InvalidField` naming the parameter, member or header, or only where it was found when
    its name is itself hostile or unwieldy."""
    if _CLEAN_NAME.fullmatch(name):
        return InvalidField(name, FIELD_MESSAGE.format(name=name))
    return InvalidField(where, REQUEST_MESSAGE)


def _checks_its_own_parameters() -> bool:
    return request.url_rule is not None and request.url_rule.rule in OWN_PARAMETER_CHECKS
