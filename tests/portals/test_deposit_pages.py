"""Certificateurs' deposit pages (R7, R12, R13): deposit, confirm a file deposited already,
follow it to its accusé de traitement, the history; refused with the reason to whoever may not
deposit, and 404 for another structure's deposits whatever the URL. The app's own consumer
processes what is deposited (Huey on SQLite in the instance folder)."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from portals import certificateurs
from portals.certificateurs.deposits.settings import DepositSettings
from tests.portals.conftest import account, claims, portal_config, sign_in
from tests.portals.deposits.files import csv_bytes

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "deposits"
GAMMA = ("100003", "Gamma Dépôts (tiers de confiance)")
BETA = ("100002", "Certif Beta")
DELTA = ("100004", "Delta Certification")


@pytest.fixture
def app(make_app, tmp_path):
    return make_app("certificateurs")


def csrf(page_text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def deposit(client, content: bytes, filename: str, **fields: str):
    page = client.get("/depots/nouveau")
    data = {"csrf_token": csrf(page.text), "fichier": (io.BytesIO(content), filename), **fields}
    return client.post("/depots/nouveau", data=data, content_type="multipart/form-data")


def wait_until_processed(client, location: str, *, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = client.get(location).text
        if "Télécharger l'accusé de traitement" in page:
            return page
        time.sleep(0.1)
    raise AssertionError(f"{location} was not processed in {timeout} s")


def text_of(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_r13_emma_deposits_a_valid_file_and_gets_both_receipts(app, client):
    sign_in(app, client, claims(account(), sub="sub-emma"))
    content = (EXAMPLES / "valide.csv").read_bytes()

    response = deposit(client, content, "valide.csv")

    assert response.status_code == 303
    location = response.headers["Location"]
    received = client.get(location).text
    assert "Votre fichier est reçu" in received
    number = re.search(r"Dépôt (D-[\w-]+)", received).group(1)
    page = wait_until_processed(client, location)
    assert "Traité" in page
    reception = client.get(f"/depots/{number}/accuse-de-reception.pdf")
    assert reception.mimetype == "application/pdf"
    assert number in text_of(reception.data)
    assert "valide.csv" in text_of(reception.data)
    processing = text_of(client.get(f"/depots/{number}/accuse-de-traitement.pdf").data)
    assert "Accusé de traitement" in processing
    assert client.get(f"/depots/{number}/fichier").data == content


def test_r13_the_rejected_lines_are_shown_with_their_reason(app, client):
    sign_in(app, client, claims(account()))

    response = deposit(client, (EXAMPLES / "erreurs.csv").read_bytes(), "erreurs.csv")

    page = wait_until_processed(client, response.headers["Location"])
    assert "Enregistrements rejetés" in page
    assert "ligne 3" in page


def test_r13_the_same_file_twice_is_deposited_again_only_once_confirmed(app, client):
    sign_in(app, client, claims(account()))
    content = (EXAMPLES / "valide.csv").read_bytes()
    deposit(client, content, "valide.csv")

    again = deposit(client, content, "copie.csv")

    assert again.status_code == 409
    assert "Ce fichier a déjà été déposé pour ce certificateur" in again.text
    confirmed = client.post(
        "/depots/confirmer",
        data={
            "csrf_token": csrf(again.text),
            "certificateur": "100001",
            "empreinte": re.search(r'name="empreinte" value="(\w+)"', again.text).group(1),
            "nom": "copie.csv",
        },
    )
    assert confirmed.status_code == 303
    assert "2 dépôts" in client.get("/depots").text


def test_r13_a_file_that_is_not_what_its_name_says_is_refused_and_nothing_is_stored(app, client):
    sign_in(app, client, claims(account()))

    response = deposit(client, b"%PDF-1.7\n...", "resultats.csv")

    assert response.status_code == 422
    assert "0 dépôt" in client.get("/depots").text


def test_r13_a_file_over_the_limit_gets_the_french_message(tmp_path, oidc_party):
    limited = DepositSettings.from_env(
        tmp_path / "limited", environ={"CERTIFICATEURS_DEPOSIT_MAX_BYTES": "2048"}
    )
    config = portal_config(certificateurs.IDENTITY, tmp_path, oidc_party.issuer)
    app = certificateurs.create_app(config, deposits=limited, TESTING=True)
    client = app.test_client()
    sign_in(app, client, claims(account()))

    response = deposit(client, b"x" * 200_000, "gros.csv")

    assert response.status_code == 413
    assert "dépasse la taille maximale autorisée (2 Ko)" in response.text
    slightly_over = deposit(client, b"a;b\n" * 600, "juste-au-dessus.csv")
    assert slightly_over.status_code == 422
    assert "dépasse la taille maximale autorisée (2 Ko)" in slightly_over.text
    assert "0 dépôt" in client.get("/depots").text


def test_r7_chloe_without_the_right_is_refused_with_the_reason(app, client):
    sign_in(app, client, claims(account(rights=())))

    for path in ("/depots/nouveau", "/depots"):
        response = client.get(path)
        assert response.status_code == 403
        assert "ne dispose pas du droit « Transmettre et consulter les données »" in response.text


def test_r9_a_delegated_administrator_is_told_the_right_belongs_to_the_accounts(app, client):
    sign_in(app, client, claims(account(role="admin", via="soltea", rights=())))

    response = client.get("/depots/nouveau")

    assert response.status_code == 403
    assert "Vous administrez cette structure depuis SOLTÉA" in response.text


def test_r12_a_tiers_deposits_for_a_mandating_certifier_and_not_for_another(app, client):
    gamma = account(matricule=GAMMA[0], name=GAMMA[1], deposits_for=(BETA,))
    sign_in(app, client, claims(gamma))
    content = (EXAMPLES / "valide.csv").read_bytes()

    form = client.get("/depots/nouveau").text
    refused = deposit(client, content, "valide.csv", certificateur=DELTA[0])
    accepted = deposit(client, content, "valide.csv", certificateur=BETA[0])

    assert "Certif Beta" in form
    assert "pour le compte de Gamma Dépôts" in form
    assert refused.status_code == 200
    assert "Choisissez le certificateur" in refused.text
    assert accepted.status_code == 303
    page = client.get(accepted.headers["Location"]).text
    assert "Certif Beta (matricule 100002)" in page
    assert "Gamma Dépôts (tiers de confiance) (matricule 100003)" in page


def test_r13_nobody_sees_another_structure_s_deposits_whatever_the_url(app, client):
    sign_in(app, client, claims(account()))
    location = deposit(client, (EXAMPLES / "valide.csv").read_bytes(), "valide.csv").headers[
        "Location"
    ]
    number = location.rsplit("/", 1)[1].split("?")[0]
    other = app.test_client()
    sign_in(app, other, claims(account(matricule=BETA[0], name=BETA[1]), sub="sub-beta"), sid="s2")

    for path in ("", "/accuse-de-reception.pdf", "/accuse-de-traitement.pdf", "/fichier"):
        assert other.get(f"/depots/{number}{path}").status_code == 404
    assert number not in other.get("/depots").text


def test_r12_a_mandate_shows_the_tiers_its_own_deposits_not_the_certifier_s_others(app, client):
    beta_client = app.test_client()
    sign_in(app, beta_client, claims(account(matricule=BETA[0], name=BETA[1]), sub="sub-b"))
    beta_own = deposit(beta_client, (EXAMPLES / "valide.csv").read_bytes(), "beta.csv")
    beta_number = beta_own.headers["Location"].rsplit("/", 1)[1].split("?")[0]
    gamma = account(matricule=GAMMA[0], name=GAMMA[1], deposits_for=(BETA,))
    sign_in(app, client, claims(gamma, sub="sub-g"), sid="s-g")

    made = deposit(
        client, (EXAMPLES / "erreurs.csv").read_bytes(), "gamma.csv", certificateur=BETA[0]
    )

    history = client.get("/depots").text
    assert "gamma.csv" in history
    assert "beta.csv" not in history
    assert client.get(f"/depots/{beta_number}").status_code == 404
    assert "gamma.csv" in beta_client.get("/depots").text  # Beta's data, whoever deposited it
    assert made.status_code == 303


def test_r13_a_file_of_several_megabytes_is_received(app, client):
    """Larger than one read of the multipart parser and than the kit's 1 MB request limit."""
    sign_in(app, client, claims(account()))
    content = csv_bytes(40_000)

    response = deposit(client, content, "gros.csv")

    assert len(content) > 2 * 1024 * 1024
    assert response.status_code == 303
    assert "gros.csv" in client.get("/depots").text
