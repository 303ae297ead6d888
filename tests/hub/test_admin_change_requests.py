"""« Changer d'administrateur » (R11), the domain: `hub.support.requests.file_request` keeps the
request, mails its receipt to the new administrator and audits it; every field is checked at
once and nothing is kept on error; throttling per address and per matricule, and a cap on open
requests per matricule, none of which depends on the structure existing."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from hub.audit.models import AuditEvent
from hub.errors import (
    InvalidField,
    RequestInvalid,
    TooManyAdminChangeRequests,
    TooManyOpenRequests,
)
from hub.mail.models import OutboxMessage
from hub.structures.models import Structure
from hub.support.models import AdminChangeRequest, RequestStatus
from hub.support.requests import (
    ADDRESS_THROTTLING,
    MATRICULE_THROTTLING,
    OPEN_REQUESTS_MAX,
    PHONE_MISSING,
    RequestForm,
    file_request,
    new_number,
)
from hub.transactions import unit_of_work
from hub.users.models import Civility
from hub.validation import clean_french_phone

NUMBER = re.compile(r"^DA-[23456789ABCDEFGHJKLMNPQRSTUVWXYZ]{8}$")
# Organisme Alpha Formation (DESIGN.md §4), and Nadia Benali, who replaces Alice Martin.
ALPHA = RequestForm(
    portal="certificateurs",
    matricule="100 001",
    contract="cer-100001",
    siret="100 000 108 00017",
    email="Nadia.Benali@alpha.example",
    civility="Mme",
    last_name="Benali",
    first_name="Nadia",
    service="Formation continue",
    mobile_phone="+33 6 12 34 56 78",
    landline_phone="01.23.45.67.89",
    comment="Alice Martin a quitté la structure en octobre.\nMerci !",
)
ADDRESS = "192.0.2.30"


def file(session, now, form: RequestForm = ALPHA, *, address: str = ADDRESS, **changes):
    """Files `form` (with `changes`) in a unit of work, as the page does."""
    with unit_of_work(session, clock=lambda: now):
        return file_request(session, replace(form, **changes), ip_address=address, now=now)


def requests_kept(session) -> list[AdminChangeRequest]:
    session.rollback()
    return list(session.scalars(select(AdminChangeRequest).order_by(AdminChangeRequest.id)))


def mails(session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def events(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).filter_by(action=action)))


def close_all(session) -> None:
    session.execute(update(AdminChangeRequest).values(status=RequestStatus.REFUSED))
    session.commit()


def test_r11_a_request_is_kept_its_receipt_mailed_and_its_filing_audited(session, demo, now):
    filed = file(session, now)

    (kept,) = requests_kept(session)
    assert NUMBER.match(kept.number)
    assert kept.number == filed.number
    assert kept.status is RequestStatus.NEW
    assert kept.portal.code == "certificateurs"
    assert (kept.matricule, kept.contract, kept.siret) == ("100001", "CER-100001", "10000010800017")
    assert kept.email == "nadia.benali@alpha.example"
    assert (kept.civility, kept.first_name, kept.last_name) == (Civility.MRS, "Nadia", "Benali")
    assert kept.service == "Formation continue"
    assert (kept.mobile_phone, kept.landline_phone) == ("0612345678", "0123456789")
    assert kept.comment == "Alice Martin a quitté la structure en octobre.\nMerci !"
    assert (kept.ip_address, kept.created_at) == (ADDRESS, now)
    (mail,) = mails(session)
    assert mail.recipient == "nadia.benali@alpha.example"
    assert mail.template == "admin_change_filed"
    assert mail.subject == f"Demande de changement d'administrateur n° {kept.number} enregistrée"
    assert "Bonjour Mme Benali," in mail.text_body
    for line in (
        "sur Certificateurs vous désigne comme nouvel administrateur",
        "- Matricule (id client) : 100001",
        "- Numéro de contrat (id contrat) : CER-100001",
        "- SIRET : 10000010800017",
        "- Civilité, prénom et nom : Mme Nadia Benali",
        "- Service : Formation continue",
        "- Téléphone portable : 06 12 34 56 78",
        "- Téléphone fixe : 01 23 45 67 89",
        "Et ensuite ?",
    ):
        assert line in mail.text_body
    assert "Alice Martin a quitté" not in mail.text_body + mail.html_body  # for the support only
    assert f"<strong>{kept.number}</strong>" in mail.html_body
    (event,) = events(session, "support.request_filed")
    alpha = session.scalar(select(Structure).filter_by(matricule="100001"))
    assert (event.actor, event.structure_id, event.portal) == (
        "anonyme",
        alpha.id,
        "certificateurs",
    )
    assert (event.target_type, event.target_id) == ("admin_change_request", str(kept.id))
    assert event.after == {"ip": ADDRESS, "number": kept.number}


def test_r11_a_matricule_nobody_holds_is_filed_just_the_same(session, demo, now):
    filed = file(session, now, matricule="999999", contract="XYZ-1", siret="20000020600017")

    (kept,) = requests_kept(session)
    assert kept.number == filed.number
    assert kept.matricule == "999999"
    assert len(mails(session)) == 1
    (event,) = events(session, "support.request_filed")
    assert event.structure_id is None


def test_r11_every_field_is_checked_at_once_and_nothing_is_kept(session, demo, now):
    wrong = RequestForm(
        portal="nulle-part",
        matricule="10A001",
        contract="CER 100001 !",
        siret="10000010800018",
        email="nadia@",
        civility="Mlle",
        last_name="B3nali",
        first_name="",
        service="x" * 101,
        mobile_phone="01 23 45 67 89",
        landline_phone="06 12 34 56 78",
        comment="y" * 2001,
    )

    with pytest.raises(RequestInvalid) as refused:
        file(session, now, wrong)

    assert refused.value.errors == {
        "portal": "Choisissez le portail sur lequel un nouvel administrateur doit être désigné.",
        "matricule": (
            "Le matricule « 10A001 » doit être composé uniquement de chiffres (20 au plus)."
        ),
        "contract": (
            "Le numéro de contrat « CER 100001 ! » n'est pas valide (lettres, chiffres, tirets ; "
            "50 caractères au plus)."
        ),
        "siret": "Le SIRET « 10000010800018 » est invalide (clé de contrôle incorrecte).",
        "email": "L'adresse e-mail « nadia@ » n'est pas valide.",
        "civility": "La civilité doit être « M. » ou « Mme ».",
        "last_name": (
            "Le champ « Nom » ne peut contenir que des lettres, des espaces, des tirets et des "
            "apostrophes."
        ),
        "first_name": "Le champ « Prénom » est obligatoire.",
        "service": "Le champ « Service » ne doit pas dépasser 100 caractères.",
        "mobile_phone": (
            "Le numéro « 01 23 45 67 89 » n'est pas un numéro de portable valide : il commence "
            "par 06 ou 07, par exemple 06 12 34 56 78 ou +33 6 12 34 56 78."
        ),
        "landline_phone": (
            "Le numéro « 06 12 34 56 78 » n'est pas un numéro de téléphone fixe valide : il "
            "commence par 01 à 05 ou 09, par exemple 01 23 45 67 89 ou +33 1 23 45 67 89."
        ),
        "comment": "Le champ « Commentaire » ne doit pas dépasser 2000 caractères.",
    }
    assert requests_kept(session) == []
    assert mails(session) == []
    (event,) = events(session, "support.request_refused")
    assert event.after["reason"] == "request_invalid"
    assert event.after["fields"] == sorted(refused.value.errors)


def test_r11_an_empty_form_names_every_required_field(session, demo, now):
    with pytest.raises(RequestInvalid) as refused:
        file(session, now, RequestForm())

    assert set(refused.value.errors) == {
        "portal",
        "matricule",
        "contract",
        "siret",
        "email",
        "civility",
        "last_name",
        "first_name",
        "mobile_phone",
    }
    assert refused.value.errors["mobile_phone"] == PHONE_MISSING
    assert refused.value.errors["civility"] == "Indiquez la civilité du nouvel administrateur."
    assert refused.value.errors["siret"] == "Le SIRET est obligatoire."
    assert requests_kept(session) == []


@pytest.mark.parametrize(
    ("mobile", "landline"),
    [("06 12 34 56 78", ""), ("", "09 87 65 43 21"), ("", "+33 5 12 34 56 78")],
)
def test_r11_one_phone_of_either_kind_is_enough(session, demo, now, mobile, landline):
    file(session, now, mobile_phone=mobile, landline_phone=landline)

    assert len(requests_kept(session)) == 1


def test_r11_control_characters_are_refused_but_the_comment_keeps_its_lines(session, demo, now):
    with pytest.raises(RequestInvalid) as refused:
        file(session, now, service="Formation\x07", comment="Ligne\u202e une")

    assert refused.value.errors == {
        "service": "Ce champ contient des caractères non autorisés.",
        "comment": "Le champ « Commentaire » contient des caractères non autorisés.",
    }
    file(session, now, comment="Ligne une\r\n\tLigne deux")
    (kept,) = requests_kept(session)
    assert kept.comment == "Ligne une\n\tLigne deux"


@pytest.mark.parametrize(
    ("typed", "mobile", "kept"),
    [
        ("06 12 34 56 78", True, "0612345678"),
        ("07.12.34.56.78", True, "0712345678"),
        ("+33 6 12 34 56 78", True, "0612345678"),
        ("+33 (0)7 12 34 56 78", True, "0712345678"),
        ("0033 6 12 34 56 78", True, "0612345678"),
        ("01-23-45-67-89", False, "0123456789"),
        ("+33 9 87 65 43 21", False, "0987654321"),
        ("", True, None),
    ],
)
def test_french_phones_are_kept_in_their_national_form(typed, mobile, kept):
    assert clean_french_phone(typed, field="phone", mobile=mobile) == kept


@pytest.mark.parametrize(
    ("typed", "mobile"),
    [
        ("01 23 45 67 89", True),
        ("06 12 34 56 78", False),
        ("08 00 12 34 56", False),
        ("06 12 34 56", True),
        ("+44 20 7946 0958", False),
        ("06 12 34 56 78 90", True),
        ("téléphone", True),
    ],
)
def test_numbers_that_are_not_french_phones_of_that_kind_are_refused(typed, mobile):
    with pytest.raises(InvalidField):
        clean_french_phone(typed, field="phone", mobile=mobile)


def test_r11_numbers_are_random_and_unambiguous():
    numbers = {new_number() for _ in range(200)}

    assert len(numbers) == 200
    assert all(NUMBER.match(number) for number in numbers)


def test_r11_one_address_files_ten_attempts_an_hour_forms_to_correct_included(session, demo, now):
    with pytest.raises(RequestInvalid):
        file(session, now, matricule="")
    for n in range(ADDRESS_THROTTLING.ip_lock_after - 1):
        file(session, now, matricule=str(200000 + n))
        close_all(session)

    with pytest.raises(TooManyAdminChangeRequests) as refused:
        file(session, now, matricule="300000")

    assert refused.value.until == now + timedelta(minutes=60)
    assert refused.value.status == 429
    assert "Réessayez à partir du 23/11/2026 à 12:00." in refused.value.message
    assert len(requests_kept(session)) == ADDRESS_THROTTLING.ip_lock_after - 1
    file(session, now, matricule="300000", address="192.0.2.31")  # another address files
    later = now + timedelta(minutes=61)
    file(session, later, matricule="300001")
    reasons = [e.after["reason"] for e in events(session, "support.request_refused")]
    assert reasons == ["request_invalid", "too_many_admin_change_requests"]


def test_r11_one_matricule_gets_five_requests_a_day_from_anywhere(session, demo, now):
    for n in range(MATRICULE_THROTTLING.ip_lock_after):
        file(session, now, address=f"192.0.2.{100 + n}")
        close_all(session)

    with pytest.raises(TooManyAdminChangeRequests) as refused:
        file(session, now, address="192.0.2.200", matricule="100001")

    assert refused.value.until == now + timedelta(days=1)
    file(session, now, address="192.0.2.200", matricule="100002")  # another matricule files
    file(session, now + timedelta(days=1, minutes=1), address="192.0.2.201")


@pytest.mark.parametrize("matricule", ["100001", "999999"])
def test_r11_open_requests_per_matricule_are_capped_whether_it_exists_or_not(
    session, demo, now, matricule
):
    for n in range(OPEN_REQUESTS_MAX):
        file(session, now, matricule=matricule, address=f"192.0.2.{50 + n}")

    with pytest.raises(TooManyOpenRequests) as refused:
        file(session, now, matricule=matricule, address="192.0.2.60")

    assert refused.value.message.startswith(
        "Plusieurs demandes de changement d'administrateur sont déjà en attente pour ce matricule"
    )
    assert len(requests_kept(session)) == OPEN_REQUESTS_MAX
    assert len(mails(session)) == OPEN_REQUESTS_MAX
    first = requests_kept(session)[0]
    session.execute(
        update(AdminChangeRequest)
        .filter_by(id=first.id)
        .values(status=RequestStatus.DONE, closed_at=now)
    )
    session.commit()
    file(session, now, matricule=matricule, address="192.0.2.61")  # a closed one frees a slot
    open_now = select(func.count()).where(AdminChangeRequest.status == RequestStatus.NEW)
    assert session.scalar(open_now) == OPEN_REQUESTS_MAX
