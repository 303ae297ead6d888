"""The alice single sign-on journey and bruno's expired journey in a real browser (Debian's
Chromium driven by Playwright), clicking what a person clicks. Screenshots go to
`test-artifacts/browser/` (ignored by git) for a person to look at.

Also checks what only a browser enforces: the pages work under the portals' Content Security
Policy (no violation reported) and need no JavaScript.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.browser import DEMO_PASSWORD

sync_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
R5 = "Votre compte est expiré. Veuillez contacter votre administrateur."


@pytest.fixture
def page(request) -> Iterator:
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium not found at {CHROMIUM} (.ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        context = browser.new_context(java_script_enabled=False, locale="fr-FR")
        page = context.new_page()
        page.problems = []  # type: ignore[attr-defined]
        page.on(
            "console",
            lambda message: (
                page.problems.append(message.text)  # type: ignore[attr-defined]
                if message.type in ("error", "warning")
                else None
            ),
        )
        try:
            yield page
        finally:
            context.close()
            browser.close()


def screenshot(page, request, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")
    page.screenshot(path=str(ARTIFACTS / f"{name}-{step}.png"), full_page=True)


def sign_in_at_hub(page, username: str) -> None:
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Me connecter").click()


def test_browser_alice_signs_in_on_soltea_then_opens_certificateurs(apps, page, request):
    passwords_asked: list[str] = []
    sign_in_page = f"{apps.hub}/login"
    page.on(
        "request",
        lambda r: passwords_asked.append(r.url) if r.url.startswith(sign_in_page) else None,
    )

    page.goto(f"{apps.soltea}/")
    page.get_by_role("link", name="Me connecter").click()
    sign_in_at_hub(page, "alice.martin")
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenue sur SOLTÉA, Alice Martin"
    )
    screenshot(page, request, "1-soltea")
    asked_on_soltea = len(passwords_asked)

    page.goto(f"{apps.certificateurs}/")
    page.get_by_role("link", name="Me connecter").click()

    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenue sur Certificateurs, Alice Martin"
    )
    screenshot(page, request, "2-certificateurs")
    assert len(passwords_asked) == asked_on_soltea  # no password on the second portal
    page.get_by_role("link", name="Mes portails").click()
    sync_api.expect(page.get_by_role("table")).to_contain_text("connecté")
    screenshot(page, request, "3-mes-portails")
    assert not [p for p in page.problems if "Content Security Policy" in p]  # type: ignore[attr-defined]


def test_browser_bruno_reads_the_expired_message_on_certificateurs(apps, page, request):
    page.goto(f"{apps.soltea}/")
    page.get_by_role("link", name="Me connecter").click()
    sign_in_at_hub(page, "bruno.petit")
    sync_api.expect(page.get_by_role("heading", level=1)).to_contain_text("Bruno Petit")

    page.goto(f"{apps.certificateurs}/")
    page.get_by_role("link", name="Me connecter").click()

    box = page.get_by_role("alert")
    sync_api.expect(box).to_contain_text(R5)
    screenshot(page, request, "1-compte-expire")
    box.get_by_role("link", name="Fermer").click()
    sync_api.expect(page.get_by_role("alert")).to_have_count(0)
    page.goto(f"{apps.soltea}/")
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenue sur SOLTÉA, Bruno Petit"
    )
    assert not [p for p in page.problems if "Content Security Policy" in p]  # type: ignore[attr-defined]


def test_browser_the_guides_journey_alice_renews_bruno_from_soltea(apps, page, request):
    """Issue 5: Bruno is refused on Certificateurs; Alice, on SOLTÉA, opens « Administration »,
    chooses « Certificateurs » in the filter and clicks « Renouveler » on Bruno's row (R4, R9);
    Bruno then signs in."""
    context = page.context.browser.new_context(java_script_enabled=False, locale="fr-FR")
    bruno = context.new_page()
    try:
        bruno.goto(f"{apps.soltea}/")
        bruno.get_by_role("link", name="Me connecter").click()
        sign_in_at_hub(bruno, "bruno.petit")
        bruno.goto(f"{apps.certificateurs}/")
        bruno.get_by_role("link", name="Me connecter").click()
        sync_api.expect(bruno.get_by_role("alert")).to_contain_text(R5)
        screenshot(bruno, request, "1-bruno-refuse")

        page.goto(f"{apps.soltea}/")
        page.get_by_role("link", name="Me connecter").click()
        sign_in_at_hub(page, "alice.martin")
        page.get_by_role("link", name="Administration", exact=True).click()
        screenshot(page, request, "2-administration")
        page.get_by_role("link", name="Gérer les comptes existants").first.click()
        page.get_by_label("Portail").select_option(label="Certificateurs")
        page.get_by_role("button", name="Filtrer").click()
        row = page.get_by_role("row").filter(has_text="bruno.petit")
        sync_api.expect(row).to_contain_text("Expiré")
        sync_api.expect(page.get_by_role("row").filter(has_text="alice.martin")).to_contain_text(
            "Administrateur (via SOLTÉA)"
        )
        screenshot(page, request, "3-filtre-certificateurs")
        row.get_by_role("button", name="Renouveler").click()

        confirmation = page.get_by_role("status")
        sync_api.expect(confirmation).to_have_text(
            re.compile(r"^Compte renouvelé jusqu'au \d\d/\d\d/\d{4}\.$")
        )
        sync_api.expect(page.get_by_role("row").filter(has_text="bruno.petit")).to_contain_text(
            "Valide"
        )
        screenshot(page, request, "4-compte-renouvele")
        page.set_viewport_size({"width": 390, "height": 844})  # a phone: the table scrolls
        screenshot(page, request, "4b-telephone")
        page.set_viewport_size({"width": 1280, "height": 720})

        bruno.goto(f"{apps.certificateurs}/")
        bruno.get_by_role("link", name="Me connecter").click()
        sync_api.expect(bruno.get_by_role("heading", level=1)).to_have_text(
            "Bienvenue sur Certificateurs, Bruno Petit"
        )
        screenshot(bruno, request, "5-bruno-connecte")

        page.get_by_role("link", name="Créer un compte").first.click()
        sync_api.expect(
            page.get_by_role("textbox", name="Adresse électronique", exact=True)
        ).to_be_visible()
        screenshot(page, request, "6-creer-un-compte")
        page.get_by_role("link", name="Historique").first.click()
        sync_api.expect(page.get_by_role("table")).to_contain_text("Renouvellement")
        screenshot(page, request, "7-historique")
    finally:
        context.close()
    assert not [p for p in page.problems if "Content Security Policy" in p]  # type: ignore[attr-defined]
