"""The registered clients as the protocol reads them, several times a second per portal: an
immutable snapshot of each, kept in memory by each web process and read again from the
database once older than `RELOAD_SECONDS` (as the key ring does for keys). A client added,
changed or removed by `hub clients` in another process therefore applies within that delay;
an unknown client_id is looked up every time (and never remembered).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from hub.oidc.models import OidcClient

RELOAD_SECONDS = 30.0
EXTENSION = "hub.oidc.clients"

# `hub.oidc.clients.find_client`, built once (building a statement costs more than running it)
_CLIENT_BY_ID = select(OidcClient).where(OidcClient.client_id == bindparam("client_id"))


@dataclass(frozen=True)
class PortalRecord:
    id: int
    code: str
    name: str
    base_url: str


@dataclass(frozen=True)
class ClientRecord:
    """What the protocol needs of an `OidcClient`, detached from any database session."""

    id: int
    client_id: str
    secret_hash: str
    redirect_uris: tuple[str, ...]
    scope: frozenset[str]
    id_token_signed_response_alg: str
    portal: PortalRecord

    @classmethod
    def of(cls, client: OidcClient) -> ClientRecord:
        portal = client.portal
        return cls(
            id=client.id,
            client_id=client.client_id,
            secret_hash=client.secret_hash,
            redirect_uris=tuple(client.redirect_uris),
            scope=frozenset(client.scope.split()),
            id_token_signed_response_alg=client.id_token_signed_response_alg,
            portal=PortalRecord(portal.id, portal.code, portal.name, portal.base_url),
        )


class ClientRegistry:
    def __init__(self) -> None:
        self._records: dict[str, tuple[float, ClientRecord]] = {}

    def find(self, session: Session, client_id: str) -> ClientRecord | None:
        now = time.monotonic()
        cached = self._records.get(client_id)
        if cached is not None and now - cached[0] < RELOAD_SECONDS:
            return cached[1]
        client = session.scalar(_CLIENT_BY_ID, {"client_id": client_id})
        if client is None:
            self._records.pop(client_id, None)
            return None
        record = ClientRecord.of(client)
        self._records[client_id] = (now, record)
        return record


def registry() -> ClientRegistry:
    """This application's registry (one per app: tests build an app per database)."""
    extensions = current_app.extensions
    if EXTENSION not in extensions:
        extensions[EXTENSION] = ClientRegistry()
    return extensions[EXTENSION]
