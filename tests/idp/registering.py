"""Registering on the hub's pages the way a browser does (R12): each step's form loaded, then
sent back with its CSRF token and hidden fields. Shared by the registration tests."""

from __future__ import annotations

import html
import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.mail.models import OutboxMessage
from tests.idp.signing_in import csrf_token_of

NEW_PASSWORD = "Quarante-Deux-Lapins-26"
STEP_FIELD = re.compile(r'name="etape" value="([^"]*)"')
VALIDATION_LINK = re.compile(r"https?://\S+/register/confirm/\S+")
BETA = {"matricule": "100002", "contract": "CER-100002"}
GAMMA = {"matricule": "100003", "contract": "CER-100003"}
ALPHA = {"matricule": "100001", "contract": "CER-100001"}
CAMILLE = {
    "civility": "Mme",
    "last_name": "Lefèvre",
    "first_name": "Camille",
    "email": "camille.lefevre@beta.example",
    "service": "Certification",
    "mobile_phone": "06 11 22 33 44",
    "landline_phone": "",
    "terms": "1.0",
}


def look_up(
    client: Any,
    portal: str = "certificateurs",
    *,
    address: str = "192.0.2.20",
    csrf: bool = True,
    next: str | None = None,
    **fields: str,
) -> Any:
    """Step 1: the structure's matricule and contract (and certifiers), from a loaded form."""
    environ = {"REMOTE_ADDR": address}
    query = {"portal": portal, **({"next": next} if next else {})}
    page = client.get("/register", query_string=query, environ_base=environ)
    data = {"portal": portal, **fields}
    if next:
        data["next"] = next
    if csrf:
        data["csrf_token"] = csrf_token_of(page.text)
    return client.post("/register", data=data, environ_base=environ)


def step_token_of(page: str) -> str:
    match = STEP_FIELD.search(page)
    assert match, "the page is not step 2 of registration"
    return html.unescape(match.group(1))


def give_details(client: Any, step_page: Any, *, address: str = "192.0.2.20", **fields: str) -> Any:
    """Step 2: the person's details and the CGU, on the page step 1 answered."""
    data = {
        "csrf_token": csrf_token_of(step_page.text),
        "etape": step_token_of(step_page.text),
        **CAMILLE,
        **fields,
    }
    data = {name: value for name, value in data.items() if value is not None}
    return client.post("/register/person", data=data, environ_base={"REMOTE_ADDR": address})


def register_until_mailed(
    client: Any, structure: dict[str, str] | None = None, *, next: str | None = None, **person: str
) -> Any:
    """Steps 1 to 3 for « Certif Beta » (or `structure`) and Camille (or `person`)."""
    step_page = look_up(client, next=next, **(structure or BETA))
    assert step_page.status_code == 200, step_page.text
    return give_details(client, step_page, **person)


def validation_link(
    session: Session, address: str, template: str = "registration_validation"
) -> str:
    """The link of the latest validation mail sent to `address` (path and token only); to an
    address the hub knows, the mail is `registration_known_address`."""
    session.rollback()
    mail = session.scalar(
        select(OutboxMessage)
        .filter_by(recipient=address, template=template)
        .order_by(OutboxMessage.id.desc())
    )
    assert mail is not None, f"no validation mail to {address}"
    url = VALIDATION_LINK.search(mail.text_body).group(0)
    return url[url.index("/register/confirm/") :]


def choose_password(
    client: Any, link: str, password: str = NEW_PASSWORD, confirmation: str | None = None
) -> Any:
    """Step 4: the password form behind the link, sent back."""
    page = client.get(link)
    assert page.status_code == 200, page.text
    data = {
        "csrf_token": csrf_token_of(page.text),
        "password": password,
        "password_confirmation": password if confirmation is None else confirmation,
    }
    return client.post(link, data=data)
