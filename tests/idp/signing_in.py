"""Signing in through the hub's page the way a browser does: load the form, send it back with
its CSRF token. Shared by the sign-in, throttling and security tests."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit.models import AuditEvent
from hub.demo import DEMO_PASSWORD

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')
NEXT_FIELD = re.compile(r'<input type="hidden" name="next" value="([^"]*)">')


def csrf_token_of(page: str) -> str:
    match = CSRF_FIELD.search(page)
    assert match, "the page has no CSRF token"
    return match.group(1)


def next_of(page: str) -> str:
    """Where the sign-in form sends the person back once signed in (its `next` field)."""
    match = NEXT_FIELD.search(page)
    assert match, "the page has no sign-in form coming back anywhere"
    return html.unescape(match.group(1))


def submit_login(
    client: Any,
    login: str,
    password: str = DEMO_PASSWORD,
    *,
    next: str | None = None,
    address: str | None = None,
) -> Any:
    """GET /login then POST it; `address` is the client's IP (REMOTE_ADDR)."""
    environ = {"REMOTE_ADDR": address} if address else {}
    query = {"next": next} if next is not None else None
    page = client.get("/login", query_string=query, environ_base=environ)
    data = {"csrf_token": csrf_token_of(page.text), "username": login, "password": password}
    if next is not None:
        data["next"] = next
    return client.post("/login", data=data, environ_base=environ)


def comparable(page: str) -> str:
    """The page without what legitimately differs between two attempts: the CSRF token and
    the identifiant typed back into its field."""
    page = CSRF_FIELD.sub('name="csrf_token" value="…"', page)
    return re.sub(r'(id="username" name="username" type="text" value=)"[^"]*"', r'\1"…"', page)


def audit_events(session: Session, action: str) -> list[AuditEvent]:
    session.rollback()  # end any snapshot older than the requests' commits
    session.expire_all()
    return list(
        session.scalars(select(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)).all()
    )


def session_cookie_header(response: Any, name: str = "hub_sso") -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}=")]
    assert len(headers) == 1, response.headers
    return headers[0]
