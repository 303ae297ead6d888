"""HTTP headers every portal response carries: no script at all (CSP), no framing
(clickjacking), no MIME sniffing, no referrer leaking URLs to other sites, and no caching of
pages that show a person's data."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Response

from portals.kit.extension import kit


def content_security_policy(issuer: str) -> str:
    """Forms post to the portal only, but « Se déconnecter » redirects to the hub after the
    POST, which `form-action` governs too: the hub's origin is allowed there."""
    parts = urlsplit(issuer)
    hub_origin = f"{parts.scheme}://{parts.netloc}"
    return "; ".join(
        (
            "default-src 'none'",
            "style-src 'self'",
            "img-src 'self'",
            f"form-action 'self' {hub_origin}",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


def apply(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = content_security_policy(kit().config.issuer)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response
