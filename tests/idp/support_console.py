"""Using the support console the way a browser does: load a form, send it back with its CSRF
token. Shared by the console's tests."""

from __future__ import annotations

from typing import Any

from hub.config import Ldap
from tests.fixtures.slapd import OPERATORS, PASSWORD, PEOPLE, READERS, SERVICE_DN
from tests.fixtures.slapd import SERVICE_PASSWORD as SERVICE_SECRET
from tests.idp.signing_in import csrf_token_of


def directory_settings(url: str, **changes: Any) -> Ldap:
    values: dict[str, Any] = {
        "url": url,
        "user_base": PEOPLE,
        "operator_group": OPERATORS,
        "reader_group": READERS,
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_SECRET,
        "timeout": 2.0,
    }
    return Ldap(**(values | changes))


def sign_in_to_console(
    client: Any,
    login: str,
    password: str = PASSWORD,
    *,
    next: str | None = None,
    address: str | None = None,
) -> Any:
    """GET /support/connexion then POST it; `address` is the client's IP (REMOTE_ADDR)."""
    environ = {"REMOTE_ADDR": address} if address else {}
    query = {"next": next} if next is not None else None
    page = client.get("/support/connexion", query_string=query, environ_base=environ)
    data = {"csrf_token": csrf_token_of(page.text), "login": login, "password": password}
    if next is not None:
        data["next"] = next
    return client.post("/support/connexion", data=data, environ_base=environ)


def post_from(client: Any, page_path: str, action: str, **fields: str) -> Any:
    """Posts a form of `page_path` to `action`, with that page's CSRF token and `next`."""
    page = client.get(page_path)
    assert page.status_code == 200, page.status_code
    data = {"csrf_token": csrf_token_of(page.text), "next": page_path, **fields}
    return client.post(action, data=data)
