"""Starting and ending this browser's sign-in on the portal (not at the hub: single logout is
the hub's, see `views.logout`)."""

from __future__ import annotations

import logging
from typing import Any

from flask import session

from portals.kit.clock import utcnow
from portals.kit.extension import kit
from portals.kit.sessions import store
from portals.kit.sessions.interface import PortalSession
from portals.kit.sessions.store import SignIn

security_log = logging.getLogger("portals.security")


def portal_session() -> PortalSession:
    current = session._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(current, PortalSession):
        raise RuntimeError("the kit's server-side session interface is not installed")
    return current


def current_sign_in() -> SignIn | None:
    return portal_session().sign_in


def begin(sign_in: SignIn, *, keep: dict[str, Any] | None = None) -> None:
    """The hub signed the person in: a new session key holds the sign-in, the anonymous
    session used for the sign-in request (and its state) is gone."""
    current = portal_session()
    engine = kit().engine
    if current.key_hash is not None:
        store.end(engine, current.key_hash)
    store.forget_idle(engine, now=utcnow())
    current.renew(sign_in=sign_in, keep=keep)
    security_log.info("sign-in on %s: sub=%s sid=%s", kit().config.code, sign_in.sub, sign_in.sid)


def end(*, notice: str | None = None, reason: str) -> SignIn | None:
    """Ends this browser's portal session; `notice` is what the « Connexion » page will say
    (a key of `messages.NOTICES`). Returns the sign-in that ended, if there was one."""
    current = portal_session()
    ended = current.sign_in
    if current.key_hash is not None:
        store.end(kit().engine, current.key_hash)
    current.renew(sign_in=None, keep={"notice": notice} if notice else None)
    if ended is not None:
        security_log.info(
            "portal session ended on %s: sub=%s (%s)", kit().config.code, ended.sub, reason
        )
    return ended
