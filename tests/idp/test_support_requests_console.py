"""R11 in the console: the queue of « Changer d'administrateur » requests, a request with the
hub's checks, and the operators' actions — signed in from a real slapd, on the demo data."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest
from sqlalchemy import select

from hub.accounts.models import Invitation, Role
from hub.portals.models import Portal
from hub.support.models import AdminChangeRequest, RequestStatus
from hub.users.models import Civility
from tests.conftest import LIGHT_HASHING
from tests.fixtures.slapd import slapd as slapd  # the fixture, used by name
from tests.idp.support_console import directory_settings, post_from, sign_in_to_console

QUEUE = "/support/demandes"


@pytest.fixture
def settings(settings, slapd):
    return replace(settings, ldap=directory_settings(slapd.url), passwords=LIGHT_HASHING)


def shown(response) -> str:
    """The page's text as a person reads it: tags dropped, spaces collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


def file(session, number, *, portal="certificateurs", siret="10000010800017", created_at=None):
    request = AdminChangeRequest(
        number=number,
        portal=session.scalar(select(Portal).filter_by(code=portal)),
        matricule="100001",
        contract="CER-100001" if portal == "certificateurs" else "SOL-100001",
        siret=siret,
        email="nadia.nouvelle@alpha.example",
        civility=Civility.MRS,
        last_name="Nouvelle",
        first_name="Nadia",
        mobile_phone="0612345678",
        **({"created_at": created_at} if created_at else {}),
    )
    session.add(request)
    session.commit()
    return request


def stored(session, number) -> AdminChangeRequest:
    session.rollback()
    session.expire_all()
    return session.scalar(select(AdminChangeRequest).filter_by(number=number))


def test_r11_the_queue_lists_open_requests_oldest_first_and_filters(client, session, demo, now):
    file(session, "DA-NEWER001", created_at=now)
    file(session, "DA-OLDER001", portal="soltea", created_at=now.replace(year=2025))
    closed = file(session, "DA-CLOSED01")
    closed.status = RequestStatus.REFUSED
    session.commit()
    sign_in_to_console(client, "remi.lecteur")

    page = shown(client.get(QUEUE))
    on_soltea = shown(client.get(QUEUE, query_string={"portail": "soltea"}))
    refused = shown(client.get(QUEUE, query_string={"etat": "refused"}))

    assert page.index("DA-OLDER001") < page.index("DA-NEWER001")
    assert "DA-CLOSED01" not in page
    assert "2 demandes, les plus anciennes d'abord." in page
    assert "DA-OLDER001" in on_soltea
    assert "DA-NEWER001" not in on_soltea
    assert "DA-CLOSED01" in refused
    assert "DA-OLDER001" not in refused


def test_r11_a_request_shows_the_checks_and_the_delegated_administrator(client, session, demo):
    file(session, "DA-CHECKS01")
    sign_in_to_console(client, "sophie.support")

    page = shown(client.get(f"{QUEUE}/DA-CHECKS01"))

    assert page.count("✔ Conforme") == 3
    assert "Organisme Alpha Formation" in page
    assert "Alice Martin (alice.martin, alice.martin@alpha.example)" in page
    assert "Administrateur (via SOLTÉA)" in page
    assert "n'est celle d'aucune personne connue du hub" in page
    assert "Désigner comme administrateur" in page


def test_r11_a_red_check_is_shown_red_with_the_referential_value_and_blocks_designation(
    client, session, demo
):
    file(session, "DA-REDSIRE1", siret="20000020600017")
    sign_in_to_console(client, "sophie.support")

    page = shown(client.get(f"{QUEUE}/DA-REDSIRE1"))

    assert page.count("✔ Conforme") == 2
    assert "✘ Non conforme" in page
    assert "la désignation n'est pas possible" in page
    assert "Désigner comme administrateur" not in page


def test_r11_an_operator_designates_and_the_request_is_done(client, session, demo):
    file(session, "DA-DESIGN01")
    sign_in_to_console(client, "sophie.support")
    detail = f"{QUEUE}/DA-DESIGN01"

    response = post_from(client, detail, f"{detail}/designer", anciens="keep")

    assert response.status_code == 303
    page = shown(client.get(response.headers["Location"]))
    assert "Le nouvel administrateur est désigné" in page
    assert "Traitée" in page
    assert stored(session, "DA-DESIGN01").status is RequestStatus.DONE
    invitation = session.scalar(select(Invitation))
    assert (invitation.invitee, invitation.role) == ("nadia.nouvelle@alpha.example", Role.ADMIN)


def test_r11_a_second_operator_sees_who_holds_the_request_and_cannot_act(
    client, app, session, demo
):
    file(session, "DA-HELD0001")
    detail = f"{QUEUE}/DA-HELD0001"
    sign_in_to_console(client, "sophie.support")
    post_from(client, detail, f"{detail}/prendre")
    other = app.test_client()
    sign_in_to_console(other, "marc.support")

    page = shown(other.get(detail))
    attempt = post_from(other, detail, f"{detail}/designer", anciens="keep")

    assert "prise en charge par Sophie Bernard" in page
    assert "Sophie Bernard traite cette demande" in page
    assert attempt.status_code == 409
    assert "prise en charge par Sophie Bernard" in shown(attempt)
    assert session.scalar(select(Invitation)) is None


def test_r11_a_reader_sees_the_request_but_cannot_act_on_it(client, session, demo):
    file(session, "DA-READER01")
    detail = f"{QUEUE}/DA-READER01"
    sign_in_to_console(client, "remi.lecteur")

    page = shown(client.get(detail))
    attempt = post_from(client, detail, f"{detail}/designer", anciens="keep")

    assert "Votre rôle (lecture seule) ne permet pas d'agir" in page
    assert "Désigner comme administrateur" not in page
    assert attempt.status_code == 403
    assert stored(session, "DA-READER01").status is RequestStatus.NEW


def test_r11_a_refusal_without_reason_is_shown_again_and_nothing_changes(client, session, demo):
    file(session, "DA-REFUSE01")
    detail = f"{QUEUE}/DA-REFUSE01"
    sign_in_to_console(client, "sophie.support")

    empty = post_from(client, detail, f"{detail}/refuser", motif="")
    done = post_from(client, detail, f"{detail}/refuser", motif="Le SIRET ne correspond pas.")

    assert empty.status_code == 400
    assert "Indiquez le motif du refus" in shown(empty)
    assert done.status_code == 303
    assert stored(session, "DA-REFUSE01").refusal_reason == "Le SIRET ne correspond pas."


def test_r11_an_unknown_request_number_is_a_404(client, session, demo):
    sign_in_to_console(client, "sophie.support")

    assert client.get(f"{QUEUE}/DA-NOPE0000").status_code == 404
    assert client.get(f"{QUEUE}/{'x' * 300}").status_code == 404
