"""The hub's HTTP API (`{issuer}/api/v1`), called with the signed-in person's access token
(RFC 6750 Bearer): the hub decides, from the token's person and scopes, what may be read or
changed. The portal never decides on its own.

Contract (DESIGN.md §3, « Mes informations » and « Mes portails »):
- `GET /me` → the identity: sub, username, civility, last_name, first_name, email, service,
  mobile_phone, landline_phone;
- `PATCH /me` with any of {civility, last_name, first_name, service, mobile_phone,
  landline_phone} → 200 and the updated identity, or 400 {"error", "field", "message"};
- `DELETE /me/accounts/<portal code>/<matricule>` → 204 (R6), or 409 with a French message
  (the last administrator);
- `GET /me/accounts` → every account on every portal: [{portal: {code, name, base_url},
  structure: {matricule, name}, role, via, expires_at, expired, connected}] (R8).
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import requests

from portals.kit.auth.signins import current_sign_in
from portals.kit.errors import HubUnavailable, TokenRejected
from portals.kit.extension import kit

log = logging.getLogger("portals.kit.hub_api")

GENERIC_REFUSAL = "Le service d'authentification a refusé cette demande."


class HubApiError(Exception):
    """The hub refused a request; `message` is its French sentence for the person, `field`
    the form field it is about, when it is about one."""

    def __init__(self, status: int, error: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.field = field


class HubApi:
    def __init__(self, base_url: str, access_token: str, *, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self.timeout = timeout

    def me(self) -> dict[str, Any]:
        return self._call("GET", "/me").json()

    def update_me(self, changes: dict[str, Any]) -> dict[str, Any]:
        return self._call("PATCH", "/me", json=changes).json()

    def delete_account(self, portal_code: str, matricule: str) -> None:
        self._call(
            "DELETE", f"/me/accounts/{quote(portal_code, safe='')}/{quote(matricule, safe='')}"
        )

    def my_accounts(self) -> list[dict[str, Any]]:
        accounts = self._call("GET", "/me/accounts").json()
        if not isinstance(accounts, list):
            raise HubUnavailable("GET /me/accounts did not answer a list")
        return accounts

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = requests.request(
                method,
                self.base_url + path,
                headers={
                    "Authorization": f"Bearer {self.access_token}",
                    "Accept": "application/json",
                },
                timeout=self.timeout,
                **kwargs,
            )
        except requests.RequestException as error:
            raise HubUnavailable(f"{method} {path}: {error}") from error
        if response.status_code == 401:
            raise TokenRejected(response.headers.get("WWW-Authenticate", "401"))
        if response.status_code >= 500:
            raise HubUnavailable(f"{method} {path} answered {response.status_code}")
        if response.status_code >= 400:
            raise _refusal(response)
        return response


def _refusal(response: requests.Response) -> HubApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        log.warning("hub API answered %s without a JSON body", response.status_code)
        return HubApiError(response.status_code, "http_error", GENERIC_REFUSAL)
    message = body.get("message") or body.get("detail") or body.get("error_description")
    return HubApiError(
        response.status_code,
        str(body.get("error", "http_error")),
        str(message or GENERIC_REFUSAL),
        body.get("field"),
    )


def hub_api() -> HubApi:
    """The API as the signed-in person (views guarded by `login_required`)."""
    sign_in = current_sign_in()
    if sign_in is None:
        raise TokenRejected("nobody is signed in")
    return HubApi(kit().config.api_url, sign_in.access_token, timeout=kit().config.hub_timeout)
