"""Certificateurs' deposits (R13) in a real browser (Debian's Chromium, no JavaScript), through
the hub's sign-in, as issue 15's « Done when » tells it: Emma Leroy deposits the valid and the
erroneous examples of `examples/deposits/`, follows them to « Traité » (the page refreshes
itself), downloads both receipts (their text read back) and sees the rejected lines; Chloé Roux
is refused with the reason; a tiers de confiance deposits for the certifier it is mandated by,
and not for another. Screenshots go to `test-artifacts/browser/`."""

from __future__ import annotations

import io
import re
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from hub.accounts.models import Account, Role
from hub.clock import add_months, utcnow
from hub.passwords import hash_password
from hub.portals.models import Portal
from hub.structures.models import Mandate, Structure
from hub.users.models import Civility, User
from tests.conftest import LIGHT_HASHING
from tests.e2e.browser import DEMO_PASSWORD
from tests.e2e.test_accessibility import scripted as scripted  # the fixture, used by name
from tests.e2e.test_accessibility import violations
from tests.e2e.test_browser import page as page  # the fixture, used by name
from tests.e2e.test_browser import screenshot, sign_in_at_hub, sync_api

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "deposits"
PROCESSED_WITHIN_MS = 30_000
GAMMA = "Gamma Dépôts (tiers de confiance)"
NO_RIGHT = "Votre compte ne dispose pas du droit « Transmettre et consulter les données »"


def pdf_text(download) -> str:
    data = Path(download.path()).read_bytes()
    return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)


def sign_in_on_certificateurs(page, apps, username: str) -> None:
    page.goto(f"{apps.certificateurs}/")
    page.get_by_role("link", name="Me connecter").click()
    sign_in_at_hub(page, username)


def deposit(page, example: str, certifier: str | None = None) -> str:
    """« Déposer un fichier » with one of the examples; the deposit's number."""
    page.get_by_role("link", name="Déposer un fichier").first.click()
    if certifier is not None:
        page.get_by_label("Certificateur pour lequel vous déposez").select_option(label=certifier)
    page.get_by_label("Fichier à déposer").set_input_files(EXAMPLES / example)
    page.get_by_role("button", name="Déposer le fichier").click()
    sync_api.expect(page.get_by_role("status").first).to_contain_text("Votre fichier est reçu")
    return re.search(r"Dépôt (D-[\w-]+)", page.get_by_role("heading", level=1).inner_text())[1]


def wait_processed(page) -> None:
    sync_api.expect(page.locator("#etat")).to_contain_text("Traité", timeout=PROCESSED_WITHIN_MS)


def test_browser_r13_emma_deposits_the_examples_and_reads_both_receipts(apps, page, request):
    sign_in_on_certificateurs(page, apps, "emma.leroy")
    sync_api.expect(page.get_by_role("heading", level=1)).to_have_text(
        "Bienvenue sur Certificateurs, Emma Leroy"
    )

    valid = deposit(page, "valide.csv")
    screenshot(page, request, "1-recu")
    with page.expect_download() as reception:
        page.get_by_role("link", name="Télécharger l'accusé de réception (PDF)").click()
    text = pdf_text(reception.value)
    assert "Accusé de réception" in text
    assert valid in text
    assert "valide.csv" in text
    wait_processed(page)
    screenshot(page, request, "2-traite")
    sync_api.expect(page.get_by_role("heading", name="Enregistrements rejetés")).to_have_count(0)
    with page.expect_download() as processing:
        page.get_by_role("link", name="Télécharger l'accusé de traitement (PDF)").click()
    assert "Accusé de traitement" in pdf_text(processing.value)

    invalid = deposit(page, "erreurs.xml")
    wait_processed(page)
    rejected = page.get_by_role("table")
    sync_api.expect(rejected).to_contain_text("enregistrement")
    first_reason = rejected.locator("tbody tr").first.locator("td").nth(2).inner_text()
    screenshot(page, request, "3-rejets")
    with page.expect_download() as processing:
        page.get_by_role("link", name="Télécharger l'accusé de traitement (PDF)").click()
    assert first_reason.split(" ")[0] in pdf_text(processing.value)

    page.get_by_role("link", name="Historique des dépôts").first.click()
    history = page.get_by_role("table")
    sync_api.expect(history).to_contain_text(valid)
    sync_api.expect(history).to_contain_text(invalid)
    screenshot(page, request, "4-historique")
    assert not [p for p in page.problems if "Content Security Policy" in p]  # type: ignore[attr-defined]


def test_browser_r7_chloe_is_told_why_she_cannot_deposit(apps, page):
    sign_in_on_certificateurs(page, apps, "chloe.roux")

    sync_api.expect(page.locator("#droit-manquant")).to_contain_text(NO_RIGHT)
    page.goto(f"{apps.certificateurs}/depots/nouveau")
    sync_api.expect(page.get_by_text(NO_RIGHT)).to_be_visible()


def mandated_depositor(apps) -> str:
    """Gaston Depot, of Gamma Dépôts (tiers de confiance), mandated by Certif Beta."""
    now = utcnow()
    with apps.session_factory.begin() as session:
        gamma = session.scalar(select(Structure).filter_by(matricule="100003"))
        beta = session.scalar(select(Structure).filter_by(matricule="100002"))
        certificateurs = session.scalar(select(Portal).filter_by(code="certificateurs"))
        gaston = User(
            username="gaston.depot",
            email="gaston.depot@gamma.example",
            civility=Civility.MR,
            first_name="Gaston",
            last_name="Depot",
            email_verified=True,
            password_hash=hash_password(DEMO_PASSWORD, LIGHT_HASHING),
        )
        session.add_all(
            [
                gaston,
                Account(
                    user=gaston,
                    structure=gamma,
                    portal=certificateurs,
                    role=Role.ADMIN,
                    created_at=now,
                    expires_at=add_months(now, 12),
                ),
                Mandate(depositor=gamma, certifier=beta),
            ]
        )
    return "gaston.depot"


def test_browser_r12_a_tiers_de_confiance_deposits_for_its_certifier_only(apps, page, request):
    sign_in_on_certificateurs(page, apps, mandated_depositor(apps))

    number = deposit(
        page,
        "valide.csv",
        certifier=f"Certif Beta (matricule 100002) — pour le compte de {GAMMA}",
    )
    sync_api.expect(page.get_by_text("Certif Beta (matricule 100002)")).to_be_visible()
    screenshot(page, request, "tiers")

    form = page.request.get(f"{apps.certificateurs}/depots/nouveau").text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)[1]
    for_alpha = page.request.post(
        f"{apps.certificateurs}/depots/nouveau",
        multipart={
            "csrf_token": token,
            "certificateur": "100001",
            "fichier": {
                "name": "valide.csv",
                "mimeType": "text/csv",
                "buffer": (EXAMPLES / "valide.csv").read_bytes(),
            },
        },
    )
    assert "Choisissez le certificateur pour lequel vous déposez" in for_alpha.text()
    history = page.request.get(f"{apps.certificateurs}/depots").text()
    assert history.count("valide.csv") == 1
    assert number in history


def test_r13_the_deposit_pages_have_no_violation(apps, scripted, request):
    """axe-core on « Déposer un fichier », a deposit with rejected records, the history."""
    sign_in_on_certificateurs(scripted, apps, "emma.leroy")
    scripted.get_by_role("link", name="Déposer un fichier").first.click()
    assert violations(scripted) == []
    deposit(scripted, "erreurs.csv")
    wait_processed(scripted)
    screenshot(scripted, request, "depot-rejets")
    assert violations(scripted) == []
    scripted.get_by_role("link", name="Historique des dépôts").first.click()
    screenshot(scripted, request, "historique")
    assert violations(scripted) == []
