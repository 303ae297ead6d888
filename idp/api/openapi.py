"""The OpenAPI 3.1 document of `/api/v1`, served at `/api/v1/openapi.json` without
authentication: the contract the portals (and any third-party portal) code against.

Written here as data and kept true by the tests: the document is validated, every API response
the tests observe is checked against it, and schemathesis fuzzes the API from it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from hub.accounts.invitations import INVITATION_DAYS
from hub.accounts.listing import PER_PAGE, PER_PAGE_MAX, SEARCH_MAX, Sort, Status
from hub.accounts.reach import ROW_ID_MAX, SELECTION_MAX
from hub.accounts.services import IDEMPOTENCY_KEY_MAX

bp = Blueprint("api_openapi", __name__)


Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: Schema) -> Schema:
    return {"oneOf": [schema, {"type": "null"}]}


def _string(**extra: Any) -> Schema:
    return {"type": "string", **extra}


def _object(properties: dict[str, Schema], *, required: tuple[str, ...] | None = None) -> Schema:
    """A closed object; every property is required unless `required` says otherwise."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
        "additionalProperties": False,
    }


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Schema]:
    """The refusals an operation may answer (401 and 403 come with every Bearer call)."""
    return {
        str(status): {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
        for status in sorted({401, 403, *statuses})
    }


ERRORS = {
    400: (
        "BadRequest",
        "Invalid input: `invalid_field`, `field` naming the parameter or member at fault (a "
        "control character anywhere is one); or `invalid_json`, a body that is not JSON, not "
        "UTF-8 or nested too deep.",
    ),
    401: ("Unauthorized", "No access token, or one that is unknown, revoked or expired."),
    403: ("Forbidden", "The token lacks the scope, or the person the right (R2, R9)."),
    404: ("NotFound", "Nothing there that the caller may see: unknown, or out of their reach."),
    409: ("Conflict", "Refused by a rule: last administrator, existing account, no contract."),
    413: ("TooLarge", "The body is larger than the hub accepts (`HUB_MAX_REQUEST_BYTES`)."),
}

DATE_TIME = _string(format="date-time")
CIVILITY = {"enum": ["M.", "Mme", None]}
PORTAL_CODE = _string(description="Code of a portal, e.g. `soltea`, `certificateurs`.")
MATRICULE = _string(description="The structure's matricule (id client, BCR).")
PERSON_FIELDS: dict[str, Schema] = {
    "civility": CIVILITY,
    "last_name": _string(description="Nom."),
    "first_name": _string(description="Prénom."),
    "email": _string(description="One mailbox is one person."),
    "service": _nullable(_string()),
    "mobile_phone": _nullable(_string()),
    "landline_phone": _nullable(_string()),
}

ACCOUNT_CHOICES: dict[str, Schema] = {
    "role": {"enum": ["admin", "user"], "default": "user"},
    "data_exchange": {"type": "boolean", "default": True, "description": "R7."},
}

SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "description": "A refusal with the French sentence to show the person.",
        "properties": {
            "error": _string(description="Stable code, e.g. `last_administrator`."),
            "message": _string(description="French, for the person."),
            "field": _string(description="The parameter or member at fault (400)."),
            "error_description": _string(description="OAuth-style copy of `message`."),
        },
        "required": ["error", "message"],
    },
    "PortalRef": _object({"code": PORTAL_CODE, "name": _string()}),
    "StructureRef": _object({"matricule": MATRICULE, "name": _string()}),
    "Person": _object(
        {
            "sub": _string(description="Stable, opaque id of the person (OIDC `sub`)."),
            "username": _string(description="Identifiant."),
            **PERSON_FIELDS,
        }
    ),
    "Identity": _object(
        {
            "sub": _string(),
            "username": _string(),
            **PERSON_FIELDS,
            "email_verified": {"type": "boolean"},
        }
    ),
    "IdentityChanges": {
        "type": "object",
        "description": (
            "R6: any of the person's own contact details. A new `email` applies once the link "
            "mailed to it is followed: the answer still shows the current address."
        ),
        "properties": dict(PERSON_FIELDS),
        "additionalProperties": False,
    },
    "MyAccount": _object(
        {
            "portal": _object({"code": PORTAL_CODE, "name": _string(), "base_url": _string()}),
            "structure": _ref("StructureRef"),
            "role": {"enum": ["admin", "user"]},
            "via": _nullable(PORTAL_CODE),
            "expires_at": DATE_TIME,
            "expired": {"type": "boolean"},
            "connected": {"type": "boolean"},
        }
    ),
    "ScopePortal": _object(
        {
            "code": PORTAL_CODE,
            "name": _string(),
            "via": _nullable(
                _string(description="R9: the portal the right comes from, when delegated.")
            ),
        }
    ),
    "ScopeStructure": _object(
        {
            "matricule": MATRICULE,
            "name": _string(),
            "siret": _string(),
            "portals": {"type": "array", "items": PORTAL_CODE},
        }
    ),
    "AdminScope": _object(
        {
            "portals": {"type": "array", "items": _ref("ScopePortal")},
            "structures": {"type": "array", "items": _ref("ScopeStructure")},
        }
    ),
    "Account": _object(
        {
            "id": {"type": "integer"},
            "user": _ref("Person"),
            "structure": _ref("StructureRef"),
            "portal": _ref("PortalRef"),
            "role": {"enum": ["admin", "user"]},
            "is_first_admin": {"type": "boolean"},
            "rights": {"type": "array", "items": {"enum": ["data_exchange"]}},
            "data_exchange": {"type": "boolean", "description": "R7."},
            "created_at": DATE_TIME,
            "expires_at": DATE_TIME,
            "status": {
                "enum": [status.value for status in Status],
                "description": "`expiring`: valid, and expiring within 30 days.",
            },
        }
    ),
    "Invitation": _object(
        {
            "id": {"type": "integer"},
            "invitee": _string(
                description="The identifiant or e-mail address as the administrator typed it."
            ),
            "person": _nullable(
                _object({name: schema for name, schema in PERSON_FIELDS.items() if name != "email"})
            ),
            "structure": _ref("StructureRef"),
            "portal": _ref("PortalRef"),
            "role": {"enum": ["admin", "user"]},
            "rights": {"type": "array", "items": {"enum": ["data_exchange"]}},
            "data_exchange": {"type": "boolean", "description": "R7."},
            "status": {
                "enum": ["sent", "expired"],
                "description": "« Invitation envoyée », or expired (it may be sent again).",
            },
            "invited_by": _nullable(_object({"name": _string()})),
            "created_at": DATE_TIME,
            "sent_at": DATE_TIME,
            "expires_at": DATE_TIME,
        }
    ),
    "InvitationList": _object({"items": {"type": "array", "items": _ref("Invitation")}}),
    "DelegatedAdmin": _object(
        {
            "user": _ref("Person"),
            "via": _ref("PortalRef"),
            "expires_at": {**DATE_TIME, "description": "The source admin account's expiry."},
        }
    ),
    "AccountPage": _object(
        {
            "items": {"type": "array", "items": _ref("Account")},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX},
            "delegated_admins": {"type": "array", "items": _ref("DelegatedAdmin")},
        }
    ),
    "Renewal": _object(
        {
            "ids": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1},
                "minItems": 1,
                "maxItems": SELECTION_MAX,
            },
            "idempotency_key": _string(minLength=1, maxLength=IDEMPOTENCY_KEY_MAX),
        }
    ),
    "Renewed": _object(
        {
            "accounts": {
                "type": "array",
                "items": _object({"id": {"type": "integer"}, "expires_at": DATE_TIME}),
            }
        }
    ),
    "NewAccount": {
        "description": (
            "An invitation to an account, for a person named by identifiant or e-mail "
            "(`existing`) or typed in anew. The answer carries only what was typed and has the "
            "same shape whether the hub knows the person or not; whom it reaches is mailed a "
            f"link valid {INVITATION_DAYS} days, and the account exists once they accept it."
        ),
        "oneOf": [
            _object(
                {"existing": _string(minLength=1, maxLength=254), **ACCOUNT_CHOICES},
                required=("existing",),
            ),
            _object(
                {**PERSON_FIELDS, **ACCOUNT_CHOICES}, required=("last_name", "first_name", "email")
            ),
        ],
    },
    "InvitationCreated": _object({"invitation": _ref("Invitation")}),
    "AccountChange": {
        "type": "object",
        "properties": {
            "role": {"enum": ["admin", "user"]},
            "data_exchange": {"type": "boolean", "description": "R7."},
        },
        "additionalProperties": False,
        "minProperties": 1,
    },
    "HistoryEntry": _object(
        {
            "occurred_at": DATE_TIME,
            "actor": _nullable(_object({"name": _string(), "username": _string()})),
            "actor_label": _string(),
            "action": _string(description="e.g. `account.renew`."),
            "action_label": _string(description="French, e.g. « Renouvellement »."),
            "portal": _nullable(PORTAL_CODE),
            "via_portal": _nullable(PORTAL_CODE),
            "target": _string(),
            "before": _nullable({"type": "object"}),
            "after": _nullable({"type": "object"}),
        }
    ),
    "HistoryPage": _object(
        {
            "items": {"type": "array", "items": _ref("HistoryEntry")},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": PER_PAGE_MAX},
        }
    ),
}

PARAMETERS: dict[str, Schema] = {
    "matricule": {"name": "matricule", "in": "path", "required": True, "schema": MATRICULE},
    "portal_code": {"name": "portal_code", "in": "path", "required": True, "schema": PORTAL_CODE},
    "account_id": {
        "name": "account_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": ROW_ID_MAX},
    },
    "invitation_id": {
        "name": "invitation_id",
        "in": "path",
        "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": ROW_ID_MAX},
    },
    "page": {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "default": 1},
    },
    "per_page": {
        "name": "per_page",
        "in": "query",
        "description": f"Clamped to 1…{PER_PAGE_MAX}, never refused.",
        "schema": {"type": "integer", "default": PER_PAGE},
    },
}


def _parameter(name: str) -> Schema:
    return {"$ref": f"#/components/parameters/{name}"}


def _operation(
    summary: str,
    scope: str,
    responses: dict[str, Schema],
    *,
    parameters: tuple[Schema, ...] = (),
    body: Schema | None = None,
) -> Schema:
    operation: Schema = {
        "summary": summary,
        "security": [{"bearer": [scope]}],
        "responses": responses,
    }
    if parameters:
        operation["parameters"] = list(parameters)
    if body is not None:
        operation["responses"] = responses | _errors(413)
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": body}},
        }
    return operation


PAIR = (_parameter("matricule"), _parameter("portal_code"))
NO_CONTENT = {"204": {"description": "Done."}}

PATHS: dict[str, Schema] = {
    "/me": {
        "get": _operation(
            "The person's identity (« Mes informations »).",
            "profile",
            {"200": _json(_ref("Identity"), "The identity."), **_errors()},
        ),
        "patch": _operation(
            "R6: edit one's own contact details.",
            "profile",
            {"200": _json(_ref("Identity"), "The identity, changed."), **_errors(400)},
            body=_ref("IdentityChanges"),
        ),
    },
    "/me/accounts": {
        "get": _operation(
            "R8: the person's accounts on every portal, delegated admin rights included.",
            "accounts",
            {
                "200": _json({"type": "array", "items": _ref("MyAccount")}, "The accounts."),
                **_errors(),
            },
        ),
    },
    "/me/accounts/{portal_code}/{matricule}": {
        "delete": _operation(
            "R6: delete one's own account on a portal (not the last administrator's).",
            "accounts",
            {**NO_CONTENT, **_errors(404, 409)},
            parameters=(_parameter("portal_code"), _parameter("matricule")),
        ),
    },
    "/admin/scope": {
        "get": _operation(
            "R2, R9: the portals and structures the caller manages from the calling portal "
            "(itself first, then the portals it delegates to). 403 for a non-admin.",
            "admin",
            {"200": _json(_ref("AdminScope"), "What the caller manages."), **_errors()},
        ),
    },
    "/admin/structures/{matricule}/portals/{portal_code}/accounts": {
        "get": _operation(
            "The accounts of a structure on a portal: search, status, sort, pagination; and "
            "the administrators by delegation (« Administrateur (via SOLTÉA) »).",
            "admin",
            {"200": _json(_ref("AccountPage"), "One page."), **_errors(400, 404)},
            parameters=(
                *PAIR,
                {
                    "name": "q",
                    "in": "query",
                    "description": "Words found in nom, prénom, email or identifiant "
                    "(case and accents ignored).",
                    "schema": _string(maxLength=SEARCH_MAX),
                },
                {
                    "name": "status",
                    "in": "query",
                    "description": "`valid`: not expired (expiring ones included).",
                    "schema": {"enum": [status.value for status in Status]},
                },
                {
                    "name": "sort",
                    "in": "query",
                    "description": "`name`: nom then prénom; ties by id.",
                    "schema": {"enum": [sort.value for sort in Sort], "default": Sort.EXPIRY},
                },
                _parameter("page"),
                _parameter("per_page"),
            ),
        ),
        "post": _operation(
            "R2: « Créer un compte », as an invitation the person accepts.",
            "admin",
            {"201": _json(_ref("InvitationCreated"), "Invited."), **_errors(400, 404, 409)},
            parameters=PAIR,
            body=_ref("NewAccount"),
        ),
    },
    "/admin/structures/{matricule}/portals/{portal_code}/invitations": {
        "get": _operation(
            "The invitations of a structure on a portal still waiting for their person "
            "(« Invitation envoyée »), expired ones included, newest first.",
            "admin",
            {"200": _json(_ref("InvitationList"), "The invitations."), **_errors(404)},
            parameters=PAIR,
        ),
    },
    "/admin/accounts/renew": {
        "post": _operation(
            "R4: renew one account or a selection; the same idempotency key renews once. "
            "Any id out of the caller's reach: 404 and nothing renewed.",
            "admin",
            {"200": _json(_ref("Renewed"), "The new expiry dates."), **_errors(400, 404, 409)},
            body=_ref("Renewal"),
        ),
    },
    "/admin/accounts/{account_id}": {
        "patch": _operation(
            "R2: promote or demote; R7: withdraw or give back `data_exchange`.",
            "admin",
            {"200": _json(_ref("Account"), "The account, changed."), **_errors(400, 404, 409)},
            parameters=(_parameter("account_id"),),
            body=_ref("AccountChange"),
        ),
        "delete": _operation(
            "R2: delete an account (never the last administrator).",
            "admin",
            {**NO_CONTENT, **_errors(404, 409)},
            parameters=(_parameter("account_id"),),
        ),
    },
    "/admin/invitations/{invitation_id}": {
        "delete": _operation(
            "« Annuler l'invitation »: its link stops working.",
            "admin",
            {**NO_CONTENT, **_errors(404, 409)},
            parameters=(_parameter("invitation_id"),),
        ),
    },
    "/admin/invitations/{invitation_id}/send": {
        "post": _operation(
            f"« Renvoyer l'invitation »: a new link, valid {INVITATION_DAYS} days; earlier "
            "links stop working.",
            "admin",
            {"200": _json(_ref("Invitation"), "Sent again."), **_errors(404, 409)},
            parameters=(_parameter("invitation_id"),),
        ),
    },
    "/admin/structures/{matricule}/history": {
        "get": _operation(
            "« Historique »: the structure's administrative actions, newest first, on the "
            "portals the caller manages for it.",
            "admin",
            {"200": _json(_ref("HistoryPage"), "One page."), **_errors(400, 404)},
            parameters=(
                _parameter("matricule"),
                {"name": "portal", "in": "query", "schema": PORTAL_CODE},
                _parameter("page"),
                _parameter("per_page"),
            ),
        ),
    },
}

DOCUMENT: Schema = {
    "openapi": "3.1.0",
    "info": {
        "title": "Hub des portails de la formation — API",
        "version": "1",
        "description": (
            "Called by the portals with the access token the hub issued them for the signed-in "
            "person (`Authorization: Bearer …`). Scopes: `profile` and `accounts` for `/me`, "
            "`admin` for `/admin`. Errors are JSON `{error, message, field?}`, `message` being "
            "the French sentence to show."
        ),
    },
    "servers": [{"url": "/api/v1"}],
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "parameters": PARAMETERS,
        "responses": {
            name: _json(_ref("Error"), description) for name, description in ERRORS.values()
        },
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "An access token from the hub's token endpoint.",
            }
        },
    },
}


@bp.get("/api/v1/openapi.json")
def document() -> Response:
    return jsonify(DOCUMENT)
