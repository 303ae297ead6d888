"""« Changer d'administrateur » on the hub's page (R11, issue 14): anyone files the request, with
the guide's fields, the portal and a comment, and reads its number; the answer is the same
whether the structure, the contract or the SIRET exist; every field error is shown next to its
field; CSRF, throttling and the cap on open requests; no input makes a 500. And the page is
linked from where a stuck person is: R10's page, the sign-in page, « Mot de passe oublié »'s
answer (R5's box: tests/idp/oidc/test_expired_box.py)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select, update

from hub.mail.models import OutboxMessage
from hub.support.models import AdminChangeRequest, RequestStatus
from hub.support.requests import ADDRESS_THROTTLING, OPEN_REQUESTS_MAX
from tests.idp.registering import ALPHA, look_up
from tests.idp.signing_in import CSRF_FIELD, csrf_token_of

PAGE = "/admin-change"
NUMBER = re.compile(r"DA-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{8}")
FILED = re.compile(r"Votre demande n° (DA-[A-Z0-9]{8}) a bien été enregistrée\.")
# Organisme Alpha Formation (DESIGN.md §4); Nadia Benali replaces Alice Martin on Certificateurs.
NADIA = {
    "portal": "certificateurs",
    "matricule": "100001",
    "contract": "CER-100001",
    "siret": "10000010800017",
    "email": "nadia.benali@alpha.example",
    "civility": "Mme",
    "last_name": "Benali",
    "first_name": "Nadia",
    "service": "Formation continue",
    "mobile_phone": "06 12 34 56 78",
    "landline_phone": "",
    "comment": "Alice Martin a quitté la structure.",
}


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


def file(client, *, address: str = "192.0.2.40", csrf: bool = True, **fields: str | None):
    """Loads the form, then sends it back with `fields` over Nadia's (None leaves one out)."""
    environ = {"REMOTE_ADDR": address}
    page = client.get(PAGE, environ_base=environ)
    data = {name: value for name, value in {**NADIA, **fields}.items() if value is not None}
    if csrf:
        data["csrf_token"] = csrf_token_of(page.text)
    return client.post(PAGE, data=data, environ_base=environ)


def kept(session) -> list[AdminChangeRequest]:
    session.rollback()
    return list(session.scalars(select(AdminChangeRequest).order_by(AdminChangeRequest.id)))


def mails(session) -> list[OutboxMessage]:
    session.rollback()
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def without_number(page: str) -> str:
    return CSRF_FIELD.sub("csrf", NUMBER.sub("DA-…", page))


def control_of(page: str, control_id: str) -> str:
    """The opening tag of the form control `control_id`."""
    match = re.search(rf'<(input|select|textarea) id="{control_id}"[^>]*>', page)
    assert match, f"no control {control_id}"
    return match.group(0)


def shown(text: str) -> str:
    """`text` as Jinja escapes it in a page."""
    return html.escape(text, quote=True).replace("&#x27;", "&#39;").replace("&quot;", "&#34;")


def test_r11_the_form_has_the_guides_two_groups_and_fields(client, demo):
    page = client.get(PAGE)

    assert page.status_code == 200
    assert "<title>Changer d&#39;administrateur — Hub d'identité</title>" in page.text
    assert "<legend>Informations de mon organisme</legend>" in page.text
    assert "<legend>Informations du nouvel administrateur</legend>" in page.text
    for name in NADIA:
        assert f'name="{name}"' in page.text
    assert '<option value="certificateurs">Certificateurs</option>' in page.text
    assert '<option value="soltea">SOLTÉA</option>' in page.text


def test_r11_a_link_fills_in_the_portal_and_the_structures_numbers(client, demo):
    query = {"portal": "certificateurs", "matricule": "100001", "contract": "CER-100001"}

    page = client.get(PAGE, query_string=query)

    assert '<option value="certificateurs" selected>Certificateurs</option>' in page.text
    assert 'id="matricule" name="matricule" type="text" value="100001"' in page.text
    assert 'id="contract" name="contract" type="text" value="CER-100001"' in page.text


def test_r11_filing_shows_the_number_and_mails_it_to_the_new_administrator(client, session, demo):
    answer = file(client)

    assert answer.status_code == 200
    number = FILED.search(answer.text).group(1)
    assert (
        "Une confirmation, avec le détail de la demande, a été envoyée à l'adresse" in answer.text
    )
    assert "nadia.benali@alpha.example" in answer.text
    assert "Et ensuite ?" in answer.text
    (request,) = kept(session)
    assert (request.number, request.status) == (number, RequestStatus.NEW)
    assert (request.matricule, request.portal.code) == ("100001", "certificateurs")
    (mail,) = mails(session)
    assert mail.recipient == "nadia.benali@alpha.example"
    assert number in mail.subject
    assert f"sous le numéro {number}" in mail.text_body


@pytest.mark.parametrize(
    "other",
    [
        {"matricule": "999999"},  # no structure
        {"contract": "CER-999999"},  # not its contract
        {"contract": "SOL-100001"},  # its contract on another portal
        {"siret": "20000020600017"},  # a valid SIRET, another structure's
    ],
)
def test_r11_the_answer_is_the_same_whether_the_structure_exists_or_not(
    client, session, demo, other
):
    known = file(client, address="192.0.2.41")
    unknown = file(client, address="192.0.2.42", **other)

    assert known.status_code == unknown.status_code == 200
    assert without_number(known.text) == without_number(unknown.text)
    assert len(kept(session)) == 2
    assert [m.template for m in mails(session)] == ["admin_change_filed"] * 2


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("siret", "10000010800018", "Le SIRET « 10000010800018 » est invalide"),
        ("siret", "1234", "Le SIRET « 1234 » doit compter 14 chiffres."),
        ("email", "nadia.benali@", "L'adresse e-mail « nadia.benali@ » n'est pas valide."),
        (
            "mobile_phone",
            "01 23 45 67 89",
            "Le numéro « 01 23 45 67 89 » n'est pas un numéro de portable",
        ),
        (
            "landline_phone",
            "07 12 34 56 78",
            "Le numéro « 07 12 34 56 78 » n'est pas un numéro de téléphone fixe",
        ),
        ("last_name", "B" * 101, "Le champ « Nom » ne doit pas dépasser 100 caractères."),
        ("comment", "z" * 5000, "Le champ « Commentaire » ne doit pas dépasser 2000 caractères."),
        ("first_name", "", "Le champ « Prénom » est obligatoire."),
        ("matricule", None, "Le matricule est obligatoire."),
        ("portal", "inconnu", "Choisissez le portail sur lequel un nouvel administrateur"),
        ("civility", None, "Indiquez la civilité du nouvel administrateur."),
    ],
)
def test_r11_each_field_says_what_is_wrong_next_to_it_and_nothing_is_kept(
    client, session, demo, field, typed, message
):
    answer = file(client, **{field: typed})

    assert answer.status_code == 200
    assert "Votre demande n'a pas été envoyée : corrigez les champs signalés." in answer.text
    error_id = f"{field}-erreur"
    assert f'<p id="{error_id}" class="erreur-champ">{shown(message)}' in answer.text
    anchor = "civility-1" if field == "civility" else field
    control = control_of(answer.text, anchor)
    assert 'aria-invalid="true"' in control
    assert re.search(rf'aria-describedby="([^"]* )?{error_id}"', control)
    assert f'<li><a href="#{anchor}">{shown(message)}' in answer.text
    assert kept(session) == []
    assert mails(session) == []


def test_r11_without_any_phone_the_form_asks_for_one(client, session, demo):
    answer = file(client, mobile_phone="", landline_phone="")

    assert "Indiquez au moins un numéro de téléphone du nouvel administrateur" in answer.text
    assert kept(session) == []


def test_r11_what_was_typed_is_kept_when_the_form_comes_back(client, demo):
    answer = file(client, siret="10000010800018", comment="Ligne une\r\nLigne deux")

    assert 'id="last_name" name="last_name" type="text" value="Benali"' in answer.text
    assert '<option value="certificateurs" selected>Certificateurs</option>' in answer.text
    assert 'value="Mme" required checked' in answer.text
    assert ">Ligne une\r\nLigne deux</textarea>" in answer.text


def test_r11_a_form_without_its_csrf_token_is_refused(client, session, demo):
    answer = file(client, csrf=False)

    assert answer.status_code == 400
    assert "Le formulaire a expiré ou ne provient pas de ce site." in answer.text
    assert kept(session) == []


@pytest.mark.parametrize(
    "fields",
    [
        {"last_name": "Benali\x00"},
        {"email": "nadia\x1b@alpha.example"},
        {"comment": "Fin\x07"},
        {"portal": "certificateurs\x7f"},
    ],
)
def test_r11_control_characters_are_refused_with_a_page_never_a_500(client, session, demo, fields):
    answer = file(client, **fields)

    assert answer.status_code == 400
    assert "caractères non autorisés" in answer.text
    assert kept(session) == []


def test_r11_huge_values_and_a_bare_form_answer_with_a_page(client, session, demo):
    large = {name: "9" * 5000 for name in NADIA}
    huge = {name: "9" * 100_000 for name in NADIA}
    bare = client.post(PAGE, data={"csrf_token": csrf_token_of(client.get(PAGE).text)})

    answer = file(client, **large)
    too_large = file(client, **huge)

    assert answer.status_code == 200
    assert "corrigez les champs signalés" in answer.text
    assert too_large.status_code == 413
    assert "Le formulaire envoyé est trop volumineux." in too_large.text
    assert bare.status_code == 200
    assert "Le matricule est obligatoire." in bare.text
    assert kept(session) == []


def test_r11_too_many_attempts_from_one_address_answer_429(client, session, demo):
    for n in range(ADDRESS_THROTTLING.ip_lock_after):
        assert file(client, matricule=str(200000 + n)).status_code == 200

    refused = file(client, matricule="300000")

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3600"
    assert "Trop de demandes de changement d&#39;administrateur" in refused.text  # a message
    assert len(kept(session)) == ADDRESS_THROTTLING.ip_lock_after
    assert file(client, address="192.0.2.99", matricule="300000").status_code == 200


def test_r11_too_many_requests_for_one_matricule_answer_429(client, session, demo):
    for n in range(5):
        assert file(client, address=f"192.0.2.{110 + n}").status_code == 200
        session.execute(update(AdminChangeRequest).values(status=RequestStatus.REFUSED))
        session.commit()

    refused = file(client, address="192.0.2.120")

    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(24 * 3600)


@pytest.mark.parametrize("matricule", ["100001", "999999"])
def test_r11_open_requests_per_matricule_are_capped_the_same_for_any_matricule(
    client, session, demo, matricule
):
    for n in range(OPEN_REQUESTS_MAX):
        assert file(client, address=f"192.0.2.{130 + n}", matricule=matricule).status_code == 200

    refused = file(client, address="192.0.2.140", matricule=matricule)

    assert refused.status_code == 409
    assert "Plusieurs demandes de changement d&#39;administrateur sont déjà en attente" in (
        refused.text
    )
    assert len(kept(session)) == OPEN_REQUESTS_MAX


# --- Where a stuck person finds the page ---------------------------------------------------


def test_r10_the_page_naming_the_administrator_links_to_the_request_filled_in(client, demo):
    refused = look_up(client, **ALPHA)

    assert refused.status_code == 409
    link = (
        '<a href="/admin-change?portal=certificateurs&amp;matricule=100001&amp;'
        'contract=CER-100001">Votre administrateur ne fait plus partie de la structure ? '
        "Demander un changement d'administrateur</a>"
    )
    assert link in refused.text


def test_the_sign_in_page_links_to_the_request(client, demo):
    page = client.get("/login")

    assert '<a href="/admin-change">Demander un changement d\'administrateur</a>' in page.text


def test_forgotten_passwords_answer_links_to_the_request(client, demo):
    page = client.get("/password/forgot/sent")

    assert "Votre administrateur ne fait plus partie de votre structure ?" in page.text
    assert '<a href="/admin-change">Demander un changement d&#39;administrateur</a>' in page.text
