"""The demo's mail catcher (issue 6 §5): `hub run --demo` without an SMTP server sends the hub's
mail, over real SMTP, to a local catcher; the hub's `/dev/mail` page shows it. A hub that is
not in that mode has no such page."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
import requests

from hub.mail.catcher import MailCatcher
from idp import create_app
from idp.extensions import db
from tests.fixtures.hub_run import light_hashing_env, start_hub_run
from tests.fixtures.ports import free_port
from tests.idp.signing_in import csrf_token_of

SAMPLE = (
    "From: hub@hub.example\r\nTo: bruno.petit@alpha.example\r\n"
    "Subject: =?utf-8?q?Votre_mot_de_passe_temporaire?=\r\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    "Pour vous connecter : http://127.0.0.1:5001/?a=1&b=<script>\r\n"
)


@pytest.fixture
def catcher_app(settings, session_factory, tmp_path):
    folder = tmp_path / "caught-mail"
    folder.mkdir()
    app = create_app(replace(settings, mail_catcher=folder), TESTING=True)
    yield app, folder
    with app.app_context():
        db.engine.dispose()


def test_without_the_catcher_there_is_no_mail_page(client):
    assert client.get("/dev/mail").status_code == 404


def test_the_page_lists_caught_mail_and_shows_its_text_with_live_links(catcher_app):
    app, folder = catcher_app
    (folder / "20261123T100000-000001.eml").write_text(SAMPLE)
    client = app.test_client()

    listing = client.get("/dev/mail")
    message = client.get("/dev/mail/20261123T100000-000001.eml")

    assert "Votre mot de passe temporaire" in listing.text
    assert "bruno.petit@alpha.example" in listing.text
    assert "23/11/2026 11:00" in listing.text  # Paris time
    url = "http://127.0.0.1:5001/?a=1&amp;b="
    assert f'<a href="{url}">{url}</a>' in message.text
    assert "<script>" not in message.text


@pytest.mark.parametrize("name", ["..%2Fsecret_key", "secret_key", "20261123T100000-1.eml"])
def test_only_files_the_catcher_wrote_are_shown(catcher_app, name):
    app, folder = catcher_app
    (folder.parent / "secret_key").write_text("not for the page")

    assert app.test_client().get(f"/dev/mail/{name}").status_code == 404


def test_the_catcher_keeps_what_an_smtp_client_sends(tmp_path):
    import smtplib

    catcher = MailCatcher(tmp_path / "caught", free_port())
    catcher.start()
    try:
        with smtplib.SMTP("127.0.0.1", catcher.port, timeout=10) as smtp:
            smtp.sendmail("hub@hub.example", ["bruno.petit@alpha.example"], SAMPLE.encode())
    finally:
        catcher.stop()

    (caught,) = (tmp_path / "caught").iterdir()
    assert "Pour vous connecter" in caught.read_text()


def test_hub_run_demo_catches_its_mail_and_shows_it(tmp_path, database_url, session_factory):
    run = start_hub_run(
        "--demo",
        "--no-portals",
        "--workers",
        "1",
        tmp_path=tmp_path,
        env={"HUB_DATABASE_URL": database_url, "HUB_MAIL_POLL_SECONDS": "0.2",
             **light_hashing_env()},
    )  # fmt: skip
    try:
        output = run.wait_until_ready()
        hub = f"http://127.0.0.1:{run.port}"
        assert f"Courriels de démonstration (non envoyés) : {hub}/dev/mail" in output
        browser = requests.Session()
        form = browser.get(f"{hub}/password/forgot", timeout=10)
        browser.post(
            f"{hub}/password/forgot",
            data={"csrf_token": csrf_token_of(form.text), "login": "bruno.petit"},
            timeout=30,
        )

        listing = _wait_for(lambda: browser.get(f"{hub}/dev/mail", timeout=10), "temporaire")
        link = re.search(r'href="(/dev/mail/[^"]+)">Votre mot de passe temporaire', listing.text)
        message = browser.get(hub + link.group(1), timeout=10)
    finally:
        run.stop()

    assert "bruno.petit@alpha.example" in listing.text
    assert "Mot de passe temporaire : " in message.text


def _wait_for(fetch, text: str, limit: float = 30.0):
    deadline = time.monotonic() + limit
    while True:
        response = fetch()
        if text in response.text or time.monotonic() > deadline:
            return response
        time.sleep(0.2)
