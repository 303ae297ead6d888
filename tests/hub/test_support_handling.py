"""R11: what a support operator does with a « Changer d'administrateur » request — the checks
the hub computes, taking a request, designating the new administrator, refusing — against the
demo data set (DESIGN.md §4: Alice Martin administers Alpha on SOLTÉA, hence on Certificateurs
by delegation, R9)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.accounts import policies
from hub.accounts.history import structure_history
from hub.accounts.models import Account, Invitation, InvitationStatus, Role
from hub.actors import SupportOperator
from hub.audit.models import AuditEvent
from hub.errors import (
    ChecksNotMet,
    InvalidField,
    LastAdministrator,
    RequestClosed,
    RequestHeld,
)
from hub.mail.models import OutboxMessage
from hub.portals.models import Portal
from hub.single_use_links import SingleUseLinks
from hub.structures.models import Structure
from hub.support import handling, review
from hub.support.handling import Previous
from hub.support.models import AdminChangeRequest, RequestStatus
from hub.transactions import unit_of_work
from hub.users.models import Civility, User

SOPHIE = SupportOperator.named("sophie.support", "Sophie Bernard")
PAUL = SupportOperator.named("paul.support", "Paul Durand")
LINKS = SingleUseLinks("test-secret", "http://hub.test", "/invitation/", "hub.accounts.invitation")


def file(
    session,
    *,
    portal="certificateurs",
    number="DA-TEST0001",
    email="nadia.nouvelle@alpha.example",
    **typed,
):
    """A request as the public page stores it (its filing is tested with the page)."""
    fields = {
        "matricule": "100001",
        "contract": "CER-100001",
        "siret": "10000010800017",
        "civility": Civility.MRS,
        "last_name": "Nouvelle",
        "first_name": "Nadia",
        "service": "Direction",
        "mobile_phone": "0612345678",
        "landline_phone": None,
        "comment": "Notre administratrice est partie.",
    } | typed
    request = AdminChangeRequest(
        number=number,
        portal=session.scalar(select(Portal).filter_by(code=portal)),
        email=email,
        **fields,
    )
    session.add(request)
    session.commit()
    return request


def mails_to(session, recipient):
    return session.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == recipient).order_by(OutboxMessage.id)
    ).all()


def alpha(session):
    return session.scalar(select(Structure).filter_by(matricule="100001"))


def certificateurs(session):
    return session.scalar(select(Portal).filter_by(code="certificateurs"))


def test_r11_checks_are_green_for_the_referential_values_and_name_the_delegated_admin(
    session, demo, now
):
    request = file(session)

    seen = review.review(session, request, now=now)

    assert seen.all_green
    assert [check.referential for check in seen.checks] == [
        "Organisme Alpha Formation",
        "CER-100001",
        "10000010800017",
    ]
    assert [(a.user.username, a.via.code if a.via else None) for a in seen.admins] == [
        ("alice.martin", "soltea")
    ]
    assert seen.known_person is None


@pytest.mark.parametrize(
    ("typed", "red"),
    [
        ({"matricule": "999999"}, [0, 1, 2]),
        ({"contract": "CER-100002"}, [1]),
        ({"contract": "SOL-100001"}, [1]),
        ({"siret": "20000020600014"}, [2]),
    ],
)
def test_r11_each_check_turns_red_on_its_own_mismatch(session, demo, now, typed, red):
    request = file(session, **typed)

    checks = review.review(session, request, now=now).checks

    assert [index for index, check in enumerate(checks) if not check.ok] == red


def test_r11_designating_a_new_person_invites_them_as_admin_and_tells_everyone(session, demo, now):
    request = file(session)

    with unit_of_work(session):
        done = handling.designate(session, request.id, by=SOPHIE, now=now, links=LINKS)

    assert done.user is None
    invitation = session.scalar(
        select(Invitation).filter_by(invitee="nadia.nouvelle@alpha.example")
    )
    assert invitation.role is Role.ADMIN
    assert invitation.status is InvitationStatus.PENDING
    assert (invitation.structure.matricule, invitation.portal.code) == ("100001", "certificateurs")
    session.refresh(request)
    assert request.status is RequestStatus.DONE
    assert (request.holder_login, request.holder_name) == ("sophie.support", "Sophie Bernard")
    subjects = [m.subject for m in mails_to(session, "nadia.nouvelle@alpha.example")]
    assert subjects == [
        "Invitation à rejoindre Organisme Alpha Formation sur Certificateurs",
        "Demande n° DA-TEST0001 traitée : vous êtes administrateur de Organisme Alpha Formation "
        "sur Certificateurs",
    ]
    [to_alice] = mails_to(session, "alice.martin@alpha.example")
    assert "le support a désigné Nadia Nouvelle" in to_alice.text_body
    assert "Vous restez administrateur" in to_alice.text_body
    invitation_mail = mails_to(session, "nadia.nouvelle@alpha.example")[0]
    assert "demande de changement d'administrateur adressée au support" in invitation_mail.text_body


def test_r11_the_designation_is_audited_as_the_operator_and_shown_in_the_structure_history(
    session, demo, now
):
    request = file(session)

    with unit_of_work(session):
        handling.designate(session, request.id, by=SOPHIE, now=now, links=LINKS)

    events = session.scalars(
        select(AuditEvent).where(AuditEvent.actor == "support:sophie.support (Sophie Bernard)")
    ).all()
    assert {event.action for event in events} == {"account.invite", "support.request_designated"}
    history = structure_history(
        session, alpha(session).id, portal_codes={"certificateurs"}, page=1, per_page=10
    )
    shown = {(entry.action_label, entry.actor_label) for entry in history.items}
    assert {
        ("Changement d'administrateur à la demande du support", "Sophie Bernard (support)"),
        ("Invitation à un compte", "Sophie Bernard (support)"),
    } <= shown


def test_r11_a_known_person_without_account_gets_an_admin_account_at_once(session, demo, now):
    request = file(
        session, email="bruno.petit@alpha.example", first_name="Bruno", last_name="Petit"
    )
    bruno = session.scalar(select(User).filter_by(username="bruno.petit"))

    with unit_of_work(session):
        done = handling.designate(session, request.id, by=SOPHIE, now=now, links=LINKS)

    assert done.user.id == bruno.id
    account = session.scalar(
        select(Account).filter_by(
            user_id=bruno.id, structure_id=alpha(session).id, portal_id=certificateurs(session).id
        )
    )
    assert account.role is Role.ADMIN
    assert account.expires_at > now + timedelta(days=500)  # renewed from now (R4), not expired


def test_r11_a_known_user_is_promoted_renewed_and_the_former_admin_demoted_when_asked(
    session, demo, now
):
    soltea = session.scalar(select(Portal).filter_by(code="soltea"))
    request = file(
        session,
        portal="soltea",
        contract="SOL-100001",
        email="bruno.petit@alpha.example",
        first_name="Bruno",
        last_name="Petit",
    )

    with unit_of_work(session):
        done = handling.designate(
            session, request.id, by=SOPHIE, now=now, links=LINKS, previous=Previous.DEMOTE
        )

    admins = policies.administrators(session, alpha(session), soltea, now=now)
    assert [admin.user.username for admin in admins] == ["bruno.petit"]
    assert [account.user.username for account in done.previous] == ["alice.martin"]
    [to_alice] = mails_to(session, "alice.martin@alpha.example")
    assert "vous n'en êtes plus administrateur" in to_alice.text_body


def test_r11_removing_the_former_admin_before_the_new_one_exists_is_refused_whole(
    session, demo, now
):
    """A new person is only invited: removing Alice would leave SOLTÉA without administrator."""
    request = file(session, portal="soltea", contract="SOL-100001")

    with pytest.raises(LastAdministrator), unit_of_work(session):
        handling.designate(
            session, request.id, by=SOPHIE, now=now, links=LINKS, previous=Previous.REMOVE
        )

    session.refresh(request)
    assert request.status is RequestStatus.NEW
    assert session.scalar(select(Invitation)) is None
    assert session.scalar(select(OutboxMessage)) is None


def test_r11_no_designation_when_the_checks_are_not_all_green(session, demo, now):
    request = file(session, siret="20000020600014")

    with pytest.raises(ChecksNotMet), unit_of_work(session):
        handling.designate(session, request.id, by=SOPHIE, now=now, links=LINKS)

    assert session.scalar(select(Invitation)) is None


def test_r11_a_request_taken_by_one_operator_refuses_the_others(session, demo, now):
    request = file(session)
    with unit_of_work(session):
        handling.take(session, request.id, by=SOPHIE, now=now)

    with pytest.raises(RequestHeld, match="Sophie Bernard"), unit_of_work(session):
        handling.designate(session, request.id, by=PAUL, now=now, links=LINKS)
    with pytest.raises(RequestHeld), unit_of_work(session):
        handling.take(session, request.id, by=PAUL, now=now)

    session.refresh(request)
    assert (request.status, request.holder_login) == (RequestStatus.IN_PROGRESS, "sophie.support")


def test_r11_a_refusal_needs_a_reason_which_the_requester_receives(session, demo, now):
    request = file(session)

    with pytest.raises(InvalidField), unit_of_work(session):
        handling.refuse(session, request.id, by=SOPHIE, reason="  non ", now=now)
    with unit_of_work(session):
        handling.refuse(
            session, request.id, by=SOPHIE, reason="Le SIRET ne correspond pas.", now=now
        )

    session.refresh(request)
    assert request.status is RequestStatus.REFUSED
    [mail] = mails_to(session, "nadia.nouvelle@alpha.example")
    assert "Le SIRET ne correspond pas." in mail.text_body
    with pytest.raises(RequestClosed, match="Sophie Bernard"), unit_of_work(session):
        handling.designate(session, request.id, by=SOPHIE, now=now, links=LINKS)


def test_r11_two_concurrent_designations_of_one_request_one_wins(
    session_factory, session, demo, now
):
    request = file(session)
    start = threading.Barrier(2)

    def designate(operator):
        with session_factory() as own, unit_of_work(own):
            start.wait(timeout=10)
            return handling.designate(own, request.id, by=operator, now=now, links=LINKS)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(designate, operator) for operator in (SOPHIE, PAUL)]
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result(timeout=30))
            except (RequestClosed, RequestHeld) as error:
                outcomes.append(error)

    assert sum(isinstance(o, handling.Designation) for o in outcomes) == 1
    assert sum(isinstance(o, (RequestClosed, RequestHeld)) for o in outcomes) == 1
    with session_factory() as check:
        invitations = check.scalars(select(Invitation)).all()
        assert len(invitations) == 1
        designated = check.scalars(
            select(AuditEvent).filter_by(action="support.request_designated")
        ).all()
        assert len(designated) == 1
