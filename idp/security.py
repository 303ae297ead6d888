"""HTTP response headers that protect the hub's pages in the browser (issue 3, hardening).

- The Content-Security-Policy allows only the hub's own styles and images, no script at all,
  and no framing (`frame-ancestors 'none'`, with `X-Frame-Options` for older browsers). It has
  no `form-action`: Chrome applies it to every redirect that follows a form submission, and the
  sign-in POST redirects to `/authorize` and on to the portal's callback on another origin.
- `Referrer-Policy: no-referrer`: authorization codes and `state` travel in URLs.
- `Cache-Control: no-store` on HTML pages and on anything that sets a cookie, so that no shared
  cache or back button serves one person's page or session to another.
- HSTS only when cookies are Secure, i.e. when the hub is served over https.
"""

from __future__ import annotations

from flask import Flask, Response, current_app

from idp.web.settings import settings_of

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
STRICT_TRANSPORT_SECURITY = "max-age=31536000"
ALWAYS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_ALWAYS = tuple((name, name.lower(), value) for name, value in ALWAYS.items())


def init_app(app: Flask) -> None:
    """Registers `protect` to run after every other `after_request` function (Flask runs them
    last-registered first), so that it sees the cookies they set."""
    app.after_request_funcs.setdefault(None, []).insert(0, protect)


def protect(response: Response) -> Response:
    """Adds the headers to every response; an endpoint that needs another value for one of them
    sets it itself and keeps it."""
    headers = response.headers
    present = {name.lower() for name, _value in headers}  # one pass, not one per header
    https = settings_of(current_app).secure_cookies
    for name, value in protective_headers(present, headers.get("Content-Type", ""), https=https):
        if name == "Cache-Control":
            headers[name] = value  # replaces the endpoint's own: a page or a cookie is private
        else:
            headers.add(name, value)
    return response


def protective_headers(
    present: set[str], content_type: str, *, https: bool
) -> list[tuple[str, str]]:
    """The headers a response carrying the headers `present` (lower-cased names) of
    `content_type` gets; `Cache-Control`, when given, replaces the response's own. Also for the
    answers made without Flask's response (`idp.oidc.fast_path`)."""
    added = [(name, value) for name, lowered, value in _ALWAYS if lowered not in present]
    if https and "strict-transport-security" not in present:
        added.append(("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY))
    if "set-cookie" in present or _is_html(content_type):
        added.append(("Cache-Control", "no-store"))
    return added


def _is_html(content_type: str) -> bool:
    """The media type of `content_type` is HTML (what `Response.mimetype` says, without
    parsing its parameters)."""
    return content_type.partition(";")[0].strip().lower() == "text/html"
