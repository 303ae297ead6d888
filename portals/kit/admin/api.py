"""The hub's administration API (`{issuer}/api/v1/admin`), called with the signed-in admin's
access token. The hub decides every time whether this person may manage a structure on a portal
(R2, directly or by delegation, R9); the portal only shows what it is given.

Contract (the hub's OpenAPI document at `/api/v1/openapi.json` is the reference):
- `GET /admin/scope` → {portals: [{code, name, via}], structures: [{matricule, name, siret,
  portals: [codes]}]}; 403 for a person who administers nothing;
- `GET /admin/structures/<matricule>/portals/<code>/accounts?q&status&sort&page&per_page` →
  {items: [Account], total, page, per_page, delegated_admins: [{user, via, expires_at}]};
  404 when this admin does not manage that pair;
- `POST /admin/accounts/renew` {ids, idempotency_key} → {accounts: [{id, expires_at}]} (R4);
- `POST /admin/structures/<matricule>/portals/<code>/accounts` {existing} or the new person's
  fields, plus {role, data_exchange} → 201 {invitation}: only what was typed comes back, the
  account exists once the person accepts;
- `GET /admin/structures/<matricule>/portals/<code>/invitations` → {items: [Invitation]};
  `POST /admin/invitations/<id>/send` → Invitation; `DELETE /admin/invitations/<id>` → 204;
- `PATCH /admin/accounts/<id>` {role?, data_exchange?} → Account; `DELETE` → 204;
- `GET /admin/structures/<matricule>/history?portal&page&per_page` → {items, total, page,
  per_page}.
Refusals are `HubApiError` (400 naming a field, 403, 404, 409 with the French sentence).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

from portals.kit.auth.signins import current_sign_in
from portals.kit.errors import HubUnavailable, TokenRejected
from portals.kit.extension import kit
from portals.kit.hub_api import HubApi


def _segment(value: str) -> str:
    return quote(value, safe="")


def _pair(matricule: str, portal_code: str) -> str:
    return f"/admin/structures/{_segment(matricule)}/portals/{_segment(portal_code)}"


class AdminApi(HubApi):
    def scope(self) -> dict[str, Any]:
        return _object(self._call("GET", "/admin/scope").json(), "GET /admin/scope")

    def accounts(
        self, matricule: str, portal_code: str, *, page: int, per_page: int, **filters: str
    ) -> dict[str, Any]:
        """One page of the accounts of (structure, portal); `filters` among q, status, sort
        (empty ones are left out)."""
        params = {name: value for name, value in filters.items() if value}
        params |= {"page": str(page), "per_page": str(per_page)}
        path = f"{_pair(matricule, portal_code)}/accounts"
        return _object(self._call("GET", path, params=params).json(), f"GET {path}")

    def renew(self, ids: Iterable[int], *, idempotency_key: str) -> list[dict[str, Any]]:
        body = {"ids": list(ids), "idempotency_key": idempotency_key}
        answer = _object(self._call("POST", "/admin/accounts/renew", json=body).json(), "renew")
        return list(answer.get("accounts") or [])

    def create_account(
        self, matricule: str, portal_code: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        path = f"{_pair(matricule, portal_code)}/accounts"
        return _object(self._call("POST", path, json=body).json(), f"POST {path}")

    def update_account(self, account_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        path = f"/admin/accounts/{int(account_id)}"
        return _object(self._call("PATCH", path, json=changes).json(), f"PATCH {path}")

    def invitations(self, matricule: str, portal_code: str) -> list[dict[str, Any]]:
        path = f"{_pair(matricule, portal_code)}/invitations"
        return list(_object(self._call("GET", path).json(), f"GET {path}").get("items") or [])

    def send_invitation(self, invitation_id: int) -> dict[str, Any]:
        path = f"/admin/invitations/{int(invitation_id)}/send"
        return _object(self._call("POST", path).json(), f"POST {path}")

    def cancel_invitation(self, invitation_id: int) -> None:
        self._call("DELETE", f"/admin/invitations/{int(invitation_id)}")

    def remove_account(self, account_id: int) -> None:
        self._call("DELETE", f"/admin/accounts/{int(account_id)}")

    def history(
        self, matricule: str, *, portal_code: str | None, page: int, per_page: int
    ) -> dict[str, Any]:
        params = {"page": str(page), "per_page": str(per_page)}
        if portal_code:
            params["portal"] = portal_code
        path = f"/admin/structures/{_segment(matricule)}/history"
        return _object(self._call("GET", path, params=params).json(), f"GET {path}")


def _object(answer: Any, call: str) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise HubUnavailable(f"{call} did not answer a JSON object")
    return answer


def admin_api() -> AdminApi:
    """The administration API as the signed-in person (views guarded by `admin_required`)."""
    sign_in = current_sign_in()
    if sign_in is None:
        raise TokenRejected("nobody is signed in")
    return AdminApi(kit().config.api_url, sign_in.access_token, timeout=kit().config.hub_timeout)
