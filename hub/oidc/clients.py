"""The relying parties (the portals), registered from configuration, the demo or
`hub clients add`. Redirect URIs are matched exactly; only their registration is checked here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.actors import Actor
from hub.audit.services import record
from hub.errors import AlreadyExists, InvalidField, NotFound
from hub.oidc.models import OidcClient
from hub.oidc.secrets import digest, matches, new_secret
from hub.portals.models import Portal

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
SIGNING_ALGS = ("RS256", "ES256")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


def clean_uri(value: str, *, field: str) -> str:
    """An absolute https URI (http only on the loopback interface, for development), without a
    fragment (RFC 6749 §3.1.2)."""
    value = value.strip()
    parts = urlsplit(value)
    loopback = parts.hostname in LOOPBACK_HOSTS or parts.netloc.split(":")[0] in LOOPBACK_HOSTS
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        raise InvalidField(field, f"« {value} » n'est pas une adresse absolue http(s).")
    if parts.scheme == "http" and not loopback:
        raise InvalidField(field, f"« {value} » doit utiliser https (http : boucle locale seule).")
    if parts.fragment or "#" in value:
        raise InvalidField(field, f"« {value} » ne doit pas contenir de fragment (#).")
    return value


def register_client(
    session: Session,
    *,
    by: Actor,
    now: datetime,
    client_id: str,
    portal: Portal,
    redirect_uris: Sequence[str],
    secret: str | None = None,
    name: str | None = None,
    post_logout_redirect_uris: Sequence[str] = (),
    backchannel_logout_uri: str | None = None,
    token_endpoint_auth_method: str = AUTH_METHODS[0],
    id_token_signed_response_alg: str = SIGNING_ALGS[0],
) -> tuple[OidcClient, str]:
    """Registers a client; returns it with its secret, generated when not given (shown once:
    only its digest is kept)."""
    client_id = client_id.strip()
    if not client_id or len(client_id) > 100 or not client_id.isascii():
        raise InvalidField("client_id", "L'identifiant de client est invalide.")
    if session.scalar(select(OidcClient.id).filter_by(client_id=client_id)) is not None:
        raise AlreadyExists(f"Le client « {client_id} » existe déjà.")
    if not redirect_uris:
        raise InvalidField("redirect_uris", "Au moins une adresse de retour est requise.")
    if token_endpoint_auth_method not in AUTH_METHODS:
        raise InvalidField("token_endpoint_auth_method", "Méthode d'authentification inconnue.")
    if id_token_signed_response_alg not in SIGNING_ALGS:
        raise InvalidField("id_token_signed_response_alg", "Algorithme de signature inconnu.")
    secret = secret or new_secret()
    client = OidcClient(
        client_id=client_id,
        secret_hash=digest(secret),
        portal=portal,
        name=name or portal.name,
        redirect_uris=[clean_uri(uri, field="redirect_uris") for uri in redirect_uris],
        post_logout_redirect_uris=[
            clean_uri(uri, field="post_logout_redirect_uris") for uri in post_logout_redirect_uris
        ],
        backchannel_logout_uri=(
            clean_uri(backchannel_logout_uri, field="backchannel_logout_uri")
            if backchannel_logout_uri
            else None
        ),
        token_endpoint_auth_method=token_endpoint_auth_method,
        id_token_signed_response_alg=id_token_signed_response_alg,
        created_at=now,
    )
    session.add(client)
    session.flush()
    record(
        session,
        actor=by,
        action="client.register",
        now=now,
        portal=portal,
        target=client,
        after={"redirect_uris": client.redirect_uris},
    )
    return client, secret


def find_client(session: Session, client_id: str) -> OidcClient | None:
    return session.scalar(select(OidcClient).filter_by(client_id=client_id))


def all_clients(session: Session) -> list[OidcClient]:
    return list(session.scalars(select(OidcClient).order_by(OidcClient.client_id)))


def remove_client(session: Session, client_id: str, *, by: Actor, now: datetime) -> None:
    client = find_client(session, client_id)
    if client is None:
        raise NotFound(f"Client inconnu : « {client_id} ».")
    record(session, actor=by, action="client.remove", now=now, portal=client.portal, target=client)
    session.delete(client)


def secret_matches(client: OidcClient, secret: str | None) -> bool:
    return secret is not None and matches(secret, client.secret_hash)
