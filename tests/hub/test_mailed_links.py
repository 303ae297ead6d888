"""Opening a link mailed to prove a mailbox — registration (R12), a new e-mail address (issue 6
§2), an invitation (R2) — gives the pending request it names, or raises the hub's one error for
a link that opens nothing, `LinkRefused`: a stable code and status per problem, the flow's own
French words, and the request when one was found."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.accounts import acceptance, invitations
from hub.accounts.models import Invitation, InvitationStatus
from hub.actors import System
from hub.clock import utcnow
from hub.email_changes import services as email_changes
from hub.email_changes.models import EmailChange
from hub.errors import HubError, LinkRefused
from hub.portals.models import Portal
from hub.registration import lookup
from hub.registration import services as registration
from hub.registration.models import Registration, RegistrationStatus
from hub.single_use_links import LinkProblem, SingleUseLinks
from hub.structures.models import Structure
from hub.users.models import User

SECRET, PUBLIC_URL = "test-secret-key", "http://127.0.0.1:5000"
LATER = timedelta(days=8)  # beyond every flow's lifetime (24 hours, seven days)
DENIS = {
    "email": "denis.blanc@alpha.example",
    "civility": "M.",
    "first_name": "Denis",
    "last_name": "Blanc",
}


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


def token_of(links: SingleUseLinks, request: Registration | EmailChange | Invitation) -> str:
    url = links.url(request.id, request.nonce, expires_at=request.expires_at)
    return url.rsplit("/", 1)[1]


def refusal(open_link, session, links, token, *, now) -> LinkRefused:
    with pytest.raises(LinkRefused) as raised:
        open_link(session, links, token, now=now)
    return raised.value


def check_refusals(open_link, session, links, request, *, messages, use_up) -> None:
    """A forged, an expired and a used link, each refused with its code, status and words."""
    token, now = token_of(links, request), utcnow()
    assert open_link(session, links, token, now=now) is request

    invalid = refusal(open_link, session, links, token[:-2], now=now)
    assert (invalid.problem, invalid.code, invalid.status) == (
        LinkProblem.INVALID,
        "link_invalid",
        404,
    )
    assert (invalid.message, invalid.request) == (messages[LinkProblem.INVALID], None)
    assert isinstance(invalid, HubError)

    expired = refusal(open_link, session, links, token, now=now + LATER)
    assert (expired.code, expired.status) == ("link_expired", 410)
    assert (expired.message, expired.request) == (messages[LinkProblem.EXPIRED], request)

    use_up(request)
    session.flush()
    used = refusal(open_link, session, links, token, now=now)
    assert (used.code, used.status) == ("link_used", 409)
    assert (used.message, used.request) == (messages[LinkProblem.USED], request)


def test_a_registration_link_opens_the_registration_or_raises(session, demo, now):
    links = registration.links(SECRET, PUBLIC_URL)
    sent = registration.attempt_request(
        session,
        session.scalar(select(Portal).filter_by(code="certificateurs")),
        lookup.LookupRequest(matricule="100002", contract="CER-100002"),
        {
            "civility": "Mme",
            "first_name": "Camille",
            "last_name": "Lefèvre",
            "email": "c@b.example",
        },
        terms_accepted=True,
        terms_version="1.0",
        next_path=None,
        step_nonce="step-0",
        ip_address="192.0.2.1",
        now=now,
        links=links,
    )

    def complete(pending: Registration) -> None:
        pending.status = RegistrationStatus.COMPLETED

    check_refusals(
        registration.open_link,
        session,
        links,
        sent.registration,
        messages=registration.LINK_MESSAGES,
        use_up=complete,
    )


def test_an_email_change_link_opens_the_change_or_raises(session, demo, now):
    links = email_changes.links(SECRET, PUBLIC_URL)
    alice = session.scalar(select(User).filter_by(username="alice.martin"))
    change = email_changes.request_change(
        session, alice, "alice.martin@nouvelle.example", portal=None, now=now, links=links
    )
    assert change is not None

    def confirm(pending: EmailChange) -> None:
        pending.confirmed_at = now

    check_refusals(
        email_changes.open_link,
        session,
        links,
        change,
        messages=email_changes.LINK_MESSAGES,
        use_up=confirm,
    )


def invite_denis(session: Session, now: datetime) -> tuple[SingleUseLinks, Invitation]:
    """Alpha's invitation of Denis to SOLTÉA, and the links it was mailed with."""
    links = invitations.links(SECRET, PUBLIC_URL)
    invitation = invitations.invite(
        session,
        by=System("test-admin"),
        structure=session.scalar(select(Structure).filter_by(matricule="100001")),
        portal=session.scalar(select(Portal).filter_by(code="soltea")),
        now=now,
        links=links,
        person=DENIS,
    )
    session.flush()
    return links, invitation


def test_an_invitation_link_opens_the_invitation_or_raises(session, demo, now):
    links, invitation = invite_denis(session, now)

    def accept(pending: Invitation) -> None:
        pending.status = InvitationStatus.ACCEPTED

    check_refusals(
        acceptance.open_link,
        session,
        links,
        invitation,
        messages=acceptance.LINK_MESSAGES,
        use_up=accept,
    )


def test_a_cancelled_invitation_is_an_invalid_link_naming_nothing(session, demo, now):
    links, invitation = invite_denis(session, now)
    invitation.status = InvitationStatus.CANCELLED
    session.flush()

    refused = refusal(acceptance.open_link, session, links, token_of(links, invitation), now=now)
    assert (refused.code, refused.request) == ("link_invalid", None)
