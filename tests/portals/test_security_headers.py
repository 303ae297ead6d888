"""Every portal response forbids scripts and framing, MIME sniffing and referrers, like the
hub's; pages are not cached."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/", "/connexion", "/healthz", "/page-inconnue"])
def test_security_headers_on_every_response(client, oidc_party, path):
    response = client.get(path)

    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy  # no script source at all, inline or not
    assert "frame-ancestors 'none'" in policy
    assert f"form-action 'self' {oidc_party.issuer}" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_are_not_cached(client):
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_unknown_page_is_a_french_404(client):
    response = client.get("/page-inconnue")

    assert response.status_code == 404
    assert "Page introuvable" in response.text


def test_the_stylesheet_is_served_and_no_script_is_referenced(client):
    page = client.get("/").text

    assert client.get("/kit/static/kit.css").status_code == 200
    assert "<script" not in page
