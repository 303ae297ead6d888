"""Flask's session, kept server side: the cookie (HttpOnly, SameSite=Lax, Secure when
configured, one name per portal) holds a random key signed with the portal's secret key, so that
a tampered cookie is told apart from an expired one, logged, and treated as no session."""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin
from itsdangerous import BadSignature, Signer
from sqlalchemy.engine import Engine
from werkzeug.datastructures import CallbackDict

from portals.kit.clock import utcnow
from portals.kit.config import PortalConfig
from portals.kit.sessions import store
from portals.kit.sessions.store import SignIn

security_log = logging.getLogger("portals.security")


class PortalSession(CallbackDict[str, Any], SessionMixin):
    """The Flask session dict plus this browser's sign-in at the hub, if any.

    `key` is the random value the cookie designates (None until first saved). Signing in and
    signing out `renew` the key: a session key is never carried across a sign-in (fixation)."""

    def __init__(
        self,
        initial: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        sign_in: SignIn | None = None,
        last_seen_at: Any = None,
    ) -> None:
        def on_update(self: PortalSession) -> None:
            self.modified = True

        super().__init__(initial, on_update)
        self.key = key
        self.sign_in = sign_in
        self.last_seen_at = last_seen_at
        self.renewed = False
        self.modified = False
        self.stale_cookie = False  # the request's cookie opened nothing: the response drops it

    @property
    def key_hash(self) -> str | None:
        return None if self.key is None else store.key_hash(self.key)

    def renew(self, *, sign_in: SignIn | None, keep: dict[str, Any] | None = None) -> None:
        """Starts over with a new key: with `sign_in` after the hub signed the person in, or
        anonymous (`sign_in=None`) after a logout. The old row must already be ended."""
        self.clear()
        self.update(keep or {})
        self.sign_in = sign_in
        self.key = None
        self.renewed = True


class ServerSideSessions(SessionInterface):
    def __init__(self, config: PortalConfig, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.signer = Signer(config.secret_key, salt="portal-session", digest_method=hashlib.sha256)

    def open_session(self, app: Flask, request: Request) -> PortalSession:
        cookie = request.cookies.get(self.config.cookie_name)
        if not cookie:
            return PortalSession()
        try:
            key = self.signer.unsign(cookie).decode()
        except (BadSignature, UnicodeDecodeError):
            security_log.warning(
                "tampered session cookie %s from %s on %s: ignored",
                self.config.cookie_name,
                request.remote_addr,
                request.path,
            )
            return self._without_session()
        stored = store.load(self.engine, store.key_hash(key), now=utcnow())
        if stored is None:
            return self._without_session()  # ended (logout) or forgotten: a visitor again
        return PortalSession(
            stored.data, key=key, sign_in=stored.sign_in, last_seen_at=stored.last_seen_at
        )

    @staticmethod
    def _without_session() -> PortalSession:
        session = PortalSession()
        session.stale_cookie = True
        return session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        assert isinstance(session, PortalSession)
        now = utcnow()
        if session.key is None:
            if not session and session.sign_in is None:
                if session.renewed or session.stale_cookie:
                    self._delete_cookie(response)
                return
            session.key = secrets.token_urlsafe(32)
            store.create(
                self.engine, store.key_hash(session.key), dict(session), session.sign_in, now=now
            )
            self._set_cookie(response, session.key)
            return
        hashed = store.key_hash(session.key)
        if session.modified:
            if not store.save_data(self.engine, hashed, dict(session), now=now):
                self._delete_cookie(response)
        elif session.last_seen_at is not None:
            store.touch(self.engine, hashed, last_seen_at=session.last_seen_at, now=now)

    def _set_cookie(self, response: Response, key: str) -> None:
        response.set_cookie(
            self.config.cookie_name,
            self.signer.sign(key).decode(),
            path="/",
            secure=self.config.cookie_secure,
            httponly=True,
            samesite="Lax",
        )
        response.vary.add("Cookie")

    def _delete_cookie(self, response: Response) -> None:
        response.delete_cookie(
            self.config.cookie_name,
            path="/",
            secure=self.config.cookie_secure,
            httponly=True,
            samesite="Lax",
        )
