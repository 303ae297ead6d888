"""The sign-in form: the fields it accepts, the messages it shows, and what the page learns from
`next`, the address the person goes back to after signing in (usually `/authorize?…`)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from hub.oidc.signin import LOGIN_MAX
from idp.web.client_registry import ClientRecord, PortalRecord, registry

LOGIN_FIELD = "username"
PASSWORD_FIELD = "password"  # noqa: S105 - a field name
NEXT_FIELD = "next"
NEXT_MAX = 4096
CLIENT_ID_MAX = 100

WRONG_CREDENTIALS = "Identifiant ou mot de passe incorrect."
TOO_MANY_ATTEMPTS = "Trop de tentatives. Réessayez dans quelques minutes."
LOGIN_MISSING = "Saisissez votre identifiant ou votre adresse e-mail."
PASSWORD_MISSING = "Saisissez votre mot de passe."  # noqa: S105 - a message


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")  # Unicode spaces, category Cc


def safe_next(value: str | None) -> str | None:
    """`value` when it is a path on this site, else None (OAuth Security BCP: no open redirect).

    Refused: anything not starting with one `/`, `//host` and `/\\host` (browsers read both as
    another host), an explicit scheme or host, and whitespace or control characters, which
    browsers strip (`/\\t/host` would become `//host`)."""
    if not value or len(value) > NEXT_MAX or not value.startswith("/"):
        return None
    if value[1:2] in ("/", "\\"):
        return None
    if _SPACE_OR_CONTROL.search(value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value


def _printable(value: str, limit: int) -> str:
    return "".join(char for char in value if unicodedata.category(char) != "Cc")[:limit]


@dataclass(frozen=True)
class Destination:
    """Where the person goes after signing in, and what the page shows about it: the portal
    they are signing in to (from `client_id`) and the identifiant it suggests (`login_hint`)."""

    next: str | None = None
    client: ClientRecord | None = None
    login_hint: str = ""

    @property
    def portal(self) -> PortalRecord | None:
        return self.client.portal if self.client is not None else None


def destination(session: Session, next_value: str | None) -> Destination:
    """Reads `next` (ignored unless local) and the authorization request it may carry."""
    next_path = safe_next(next_value)
    if next_path is None:
        return Destination()
    query = parse_qs(urlsplit(next_path).query)
    client_id = query.get("client_id", [""])[0]
    client = None
    if client_id and len(client_id) <= CLIENT_ID_MAX and client_id.isprintable():
        client = registry().find(session, client_id)  # the token path's cached snapshot
    hint = query.get("login_hint", [""])[0]
    return Destination(next=next_path, client=client, login_hint=clean_login_hint(hint))


def destination_of_request(
    next_path: str, client: ClientRecord, login_hint: str | None
) -> Destination:
    """The destination of an authorization request the endpoint has already read and checked:
    nothing to parse again."""
    return Destination(next=next_path, client=client, login_hint=clean_login_hint(login_hint))


def clean_login_hint(value: str | None) -> str:
    return _printable((value or "").strip(), LOGIN_MAX)


@dataclass(frozen=True)
class LoginForm:
    """A submitted sign-in form. `errors` maps a field to what the person must fix before the
    credentials are even checked (empty fields); they say nothing about any account."""

    login: str
    password: str
    next: str | None
    errors: dict[str, str] = field(default_factory=dict)


def read_login_form(form: MultiDict[str, str]) -> LoginForm:
    login = form.get(LOGIN_FIELD, "")
    password = form.get(PASSWORD_FIELD, "")
    errors = {}
    if not login.strip():
        errors[LOGIN_FIELD] = LOGIN_MISSING
    if not password:
        errors[PASSWORD_FIELD] = PASSWORD_MISSING
    return LoginForm(login=login, password=password, next=form.get(NEXT_FIELD), errors=errors)


def shown_login(login: str) -> str:
    """The identifiant put back in the field after a failure: printable, no longer than the
    field accepts."""
    return _printable(login, LOGIN_MAX)
