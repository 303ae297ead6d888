"""People: creation, contact details (R6), and the French messages bad input gets."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.actors import System
from hub.audit.models import AuditEvent
from hub.errors import AlreadyExists, InvalidField, NotAllowed
from hub.passwords import verify_password
from hub.users.models import Civility
from hub.users.services import create_user, find_user, update_contact_details
from tests.conftest import LIGHT_HASHING
from tests.factories import make_user

SUPPORT = System("support")


def new_person(session, now, **fields):
    values = {"email": "chloe.roux@alpha.example", "first_name": "Chloé", "last_name": "Roux"}
    return create_user(session, by=SUPPORT, now=now, **(values | fields))


def test_a_new_person_gets_an_ascii_identifiant_from_their_name(session, now):
    chloe = new_person(session, now, civility="Mme", service=" Scolarité ")

    assert chloe.username == "chloe.roux"
    assert chloe.civility is Civility.MRS
    assert chloe.service == "Scolarité"
    assert chloe.password_hash is None
    assert not chloe.email_verified


def test_homonyms_get_numbered_identifiants(session, now):
    new_person(session, now)
    second = new_person(session, now, email="c.roux@beta.example")

    assert second.username == "chloe.roux2"


def test_compound_names_keep_their_hyphens(session, now):
    person = new_person(session, now, first_name="Jean-Éric", last_name="Le Gall")

    assert person.username == "jean-eric.le-gall"


def test_a_password_is_stored_as_an_argon2id_hash(session, now):
    person = new_person(
        session, now, password="Un-mot-de-passe-2026", password_params=LIGHT_HASHING
    )

    assert person.password_hash.startswith("$argon2id$")
    assert verify_password(person.password_hash, "Un-mot-de-passe-2026", LIGHT_HASHING)
    assert not verify_password(person.password_hash, "un-mot-de-passe-2026", LIGHT_HASHING)


def test_one_email_address_is_one_person(session, now):
    new_person(session, now)

    with pytest.raises(AlreadyExists) as error:
        new_person(session, now, email="Chloe.Roux@Alpha.example", first_name="Autre")

    assert error.value.message == "Cette adresse e-mail est déjà utilisée par une autre personne."


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "chloe.roux@"}, "email", "L'adresse e-mail « chloe.roux@ » n'est pas valide."),
        ({"email": "  "}, "email", "L'adresse e-mail est obligatoire."),
        ({"last_name": "  "}, "last_name", "Le champ « Nom » est obligatoire."),
        (
            {"first_name": "C" * 101},
            "first_name",
            "Le champ « Prénom » ne doit pas dépasser 100 caractères.",
        ),
        (
            {"last_name": "R0ux"},
            "last_name",
            "Le champ « Nom » ne peut contenir que des lettres, des espaces, des tirets et des "
            "apostrophes.",
        ),
        ({"civility": "Dr"}, "civility", "La civilité doit être « M. » ou « Mme »."),
        (
            {"mobile_phone": "06 12 AB"},
            "mobile_phone",
            "Le numéro « 06 12 AB » n'est pas un numéro de téléphone valide (téléphone portable).",
        ),
        (
            {"service": "S" * 101},
            "service",
            "Le champ « Service » ne doit pas dépasser 100 caractères.",
        ),
        ({"username": "A"}, "username", None),
    ],
)
def test_bad_input_is_refused_with_a_french_message_naming_the_field(
    session, now, fields, field, message
):
    with pytest.raises(InvalidField) as error:
        new_person(session, now, **fields)

    assert error.value.field == field
    if message is not None:
        assert error.value.message == message
    assert session.scalars(select(AuditEvent)).all() == []


def test_r6_a_person_edits_their_contact_details_and_it_is_audited(session, now):
    person = make_user(session, first_name="Bruno", last_name="Petit")

    update_contact_details(
        session, person, by=person, now=now, mobile_phone="06 12 34 56 78", service="Direction"
    )

    assert (person.mobile_phone, person.service) == ("0612345678", "Direction")
    event = session.scalar(select(AuditEvent).filter_by(action="user.update"))
    assert event.before["mobile_phone"] is None
    assert event.after["mobile_phone"] == "0612345678"
    assert "password_hash" not in event.after


def test_r6_nobody_edits_someone_elses_details(session, now):
    person, other = make_user(session), make_user(session)

    with pytest.raises(NotAllowed):
        update_contact_details(session, person, by=other, now=now, service="Piratage")

    assert person.service is None


def test_the_identifiant_and_email_are_not_contact_details(session, now):
    person = make_user(session)

    with pytest.raises(InvalidField) as error:
        update_contact_details(session, person, by=person, now=now, username="root")

    assert error.value.field == "username"


def test_people_are_found_by_identifiant_or_email_whatever_the_case(session, now):
    chloe = new_person(session, now)

    assert find_user(session, " Chloe.Roux ") is chloe
    assert find_user(session, "CHLOE.ROUX@alpha.example") is chloe
    assert find_user(session, "chloe") is None
