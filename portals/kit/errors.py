"""Failures of the conversation with the hub, which views and hooks turn into pages."""

from __future__ import annotations


class HubUnavailable(Exception):
    """The hub did not answer, answered with a server error, or with something that is not
    the protocol. `retry_url` is where the person should try again from (this page when
    None). Shown as « Service d'authentification indisponible », never as a 500."""

    def __init__(self, reason: str, *, retry_url: str | None = None) -> None:
        super().__init__(reason)
        self.retry_url = retry_url


class TokenRejected(Exception):
    """The hub refused the access token (revoked with its session, or expired)."""
