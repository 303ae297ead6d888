"""The hub's cookies — the single sign-on session and the CSRF token — named and flagged in one
place.

Over https (`Settings.secure_cookies`) every name carries the `__Host-` prefix: a browser then
keeps such a cookie only when the hub itself sets it, Secure, with `Path=/` and no `Domain`, so
that no sibling host under the same parent domain can set or overwrite it (and so plant a
session or a CSRF token, issue 12 §3). Plain http — the developer's http://127.0.0.1 — keeps
plain names, since browsers refuse a `__Host-` cookie that is not Secure. Every cookie is
HttpOnly and `SameSite=Lax`.
"""

from __future__ import annotations

from flask import Response, current_app, request

from idp.web.settings import settings_of

HOST_PREFIX = "__Host-"


def cookie_name(base: str) -> str:
    """The name `base` goes by on this hub: `__Host-base` over https, `base` otherwise."""
    return f"{HOST_PREFIX}{base}" if _secure() else base


def read(base: str) -> str | None:
    return request.cookies.get(cookie_name(base))


def store(response: Response, base: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        cookie_name(base),
        value,
        max_age=max_age,
        path="/",
        secure=_secure(),
        httponly=True,
        samesite="Lax",
    )


def expire(response: Response, base: str) -> None:
    """Deletes the cookie; the attributes match, or browsers keep a `__Host-` one."""
    response.delete_cookie(
        cookie_name(base), path="/", secure=_secure(), httponly=True, samesite="Lax"
    )


def _secure() -> bool:
    return settings_of(current_app).secure_cookies
