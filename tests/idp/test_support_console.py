"""R11's support console (issue 14): operators sign in from the organisation's directory — a
real OpenLDAP `slapd` here — into a session of their own, separate from portal people's; it
idles out, asks for the password again before a change, lets readers see but not act, and
every sign-in, refusal and repair is audited under the operator's name."""

from __future__ import annotations

import html
from dataclasses import replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from hub import throttle
from hub.accounts import invitations
from hub.accounts.models import Account, Invitation
from hub.actors import System
from hub.clock import utcnow
from hub.config import Support
from hub.errors import DirectoryRefused, DirectoryUnavailable
from hub.mail.models import OutboxMessage
from hub.oidc.models import BrowserSession
from hub.portals.models import Portal
from hub.structures.models import Structure
from hub.support.directory import DEMO_PASSWORD
from hub.support.models import SupportSession
from hub.users.models import User
from idp.support.access import NOT_CONFIGURED, READ_ONLY
from idp.web.csrf import MESSAGE as CSRF_MESSAGE
from tests.conftest import LIGHT_HASHING
from tests.fixtures.slapd import PASSWORD
from tests.fixtures.slapd import slapd as slapd  # the fixture, used by name
from tests.idp.signing_in import audit_events, csrf_token_of
from tests.idp.support_console import directory_settings, post_from, sign_in_to_console

SOPHIE = "support:sophie.support (Sophie Bernard)"
SEARCH = "/support/recherche"
ALPHA = "/support/structures/100001"


@pytest.fixture
def settings(settings, slapd):
    return replace(settings, ldap=directory_settings(slapd.url), passwords=LIGHT_HASHING)


@pytest.fixture
def clock(time_machine, now):
    """Moves the present forward by the given timedelta."""
    current = [now]
    time_machine.move_to(now, tick=False)

    def advance(delta: timedelta) -> None:
        current[0] += delta
        time_machine.move_to(current[0], tick=False)

    return advance


def fresh(session):
    session.rollback()
    session.expire_all()
    return session


def shown(response) -> str:
    """The page's text as a person reads it (apostrophes unescaped)."""
    return html.unescape(response.text)


def account_of(session, username: str, portal: str) -> Account:
    return fresh(session).scalar(
        select(Account)
        .join(User)
        .join(Portal)
        .where(User.username == username, Portal.code == portal)
    )


def confirm_password(client, destination: str, password: str = PASSWORD):
    page = client.get("/support/confirmer", query_string={"next": destination})
    data = {"csrf_token": csrf_token_of(page.text), "next": destination, "password": password}
    return client.post("/support/confirmer", data=data)


# --- Signing in -----------------------------------------------------------------------------


def test_r11_an_operator_signs_in_to_the_console_with_the_directory_password(
    client, session, clock
):
    response = sign_in_to_console(client, "sophie.support", next=SEARCH)

    assert response.status_code == 303
    assert response.headers["Location"] == SEARCH
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("hub_support=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    page = client.get(SEARCH)
    assert page.status_code == 200
    assert "Console du support" in page.text
    assert "Sophie Bernard" in page.text
    assert "Opérateur" in page.text
    assert ">Demandes</a>" in page.text
    assert ">Recherche</a>" in page.text
    assert "Se déconnecter" in page.text
    [event] = audit_events(session, "support.sign_in")
    assert event.actor == SOPHIE
    stored = fresh(session).scalar(select(SupportSession))
    assert client.get_cookie("hub_support").value not in stored.key_hash  # only a digest


def test_r11_a_console_sign_in_is_no_hub_single_sign_on_session(client, session, clock, demo):
    """Operators are not people of the hub: no `hub_sso` cookie, no session a portal could
    sign in with, hence nothing of theirs in any portal's claims."""
    response = sign_in_to_console(client, "sophie.support", next=SEARCH)

    assert response.status_code == 303
    assert client.get_cookie("hub_sso") is None
    assert fresh(session).scalar(select(func.count()).select_from(BrowserSession)) == 0
    assert client.get("/").headers["Location"].endswith("/login")  # not signed in at the hub


def test_r11_a_reader_signs_in_read_only(client, clock):
    sign_in_to_console(client, "remi.lecteur", next=SEARCH)

    page = client.get(SEARCH)
    assert "Rémi Lecteur" in page.text
    assert "Lecture seule" in page.text


@pytest.mark.parametrize(
    "login",
    [
        "paul.compta",  # in the directory, in no support group
        "*)(uid=*",  # LDAP injection
        "alice.martin",  # a portal person: the hub's people are not the directory's
    ],
)
def test_r11_whoever_the_directory_does_not_let_in_gets_one_refusal(
    client, session, clock, demo, login
):
    response = sign_in_to_console(client, login, PASSWORD if login != "alice.martin" else "x")

    assert response.status_code == 200
    assert DirectoryRefused.message in response.text
    assert client.get_cookie("hub_support") is None
    assert client.get(SEARCH).status_code == 303
    [event] = audit_events(session, "support.sign_in_failed")
    assert (event.actor, event.after["identifiant"]) == ("anonyme", login)


def test_r11_alice_martin_cannot_sign_in_to_the_console_with_her_portal_password(
    client, clock, demo
):
    from hub.demo import DEMO_PASSWORD as PORTAL_PASSWORD

    response = sign_in_to_console(client, "alice.martin", PORTAL_PASSWORD)

    assert DirectoryRefused.message in response.text
    assert client.get_cookie("hub_support") is None


def test_a_wrong_password_is_the_same_refusal(client, clock):
    response = sign_in_to_console(client, "sophie.support", "pas-le-bon")

    assert response.status_code == 200
    assert DirectoryRefused.message in response.text


def test_a_directory_that_is_down_answers_503_in_french(client, slapd, clock):
    slapd.stop()

    response = sign_in_to_console(client, "sophie.support")

    assert response.status_code == 503
    assert DirectoryUnavailable.message in shown(response)


def test_r11_throttled_per_identifiant_429_with_retry_after(client, session, clock):
    for _ in range(3):
        assert sign_in_to_console(client, "sophie.support", "faux").status_code == 200

    too_soon = sign_in_to_console(client, "sophie.support")  # the right one: not even asked

    assert too_soon.status_code == 429
    assert too_soon.headers["Retry-After"] == "1"
    assert client.get_cookie("hub_support") is None
    assert len(audit_events(session, "support.sign_in_throttled")) == 1
    # The console's keys are its own: a portal person of the same name is not locked out.
    keys = {row.key for row in fresh(session).scalars(select(throttle.LoginThrottle))}
    assert "user:sophie.support" not in keys
    assert "support-user:sophie.support" in keys


def test_r11_throttled_per_address(client, app, clock):
    limits = replace(app.config["HUB_SETTINGS"].throttling, ip_lock_after=3)
    app.config["HUB_SETTINGS"] = replace(app.config["HUB_SETTINGS"], throttling=limits)
    for login in ("a.un", "b.deux", "c.trois"):
        sign_in_to_console(client, login, "faux", address="192.0.2.7")

    refused = sign_in_to_console(client, "sophie.support", address="192.0.2.7")

    assert refused.status_code == 429
    assert sign_in_to_console(client, "sophie.support", address="192.0.2.8").status_code == 303


@pytest.mark.parametrize(
    "next_", ["https://evil.example/", "//evil.example/support", "/login", "/support\\@evil"]
)
def test_no_open_redirect_after_sign_in(client, clock, next_):
    response = sign_in_to_console(client, "sophie.support", next=next_)

    assert response.headers["Location"] == "/support/demandes"


def test_a_console_page_without_session_sends_to_sign_in_and_back(client, clock):
    response = client.get(SEARCH, query_string={"q": "100001"})

    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/support/connexion"
    assert parse_qs(location.query)["next"] == ["/support/recherche?q=100001"]
    assert client.get("/support").headers["Location"].startswith("/support/connexion?next=")


def test_sign_out_ends_the_session(client, session, clock):
    sign_in_to_console(client, "sophie.support")

    response = post_from(client, SEARCH, "/support/deconnexion")

    assert response.status_code == 200
    assert "Vous êtes déconnecté de la console du support." in response.text
    assert client.get(SEARCH).status_code == 303
    assert fresh(session).scalar(select(SupportSession)).ended_at is not None
    [event] = audit_events(session, "support.sign_out")
    assert event.actor == SOPHIE


def test_console_forms_need_the_console_session_s_token(client, clock):
    """A token minted for the anonymous sign-in page does not post a console form."""
    anonymous = csrf_token_of(client.get("/support/connexion").text)
    sign_in_to_console(client, "sophie.support")

    response = client.post("/support/deconnexion", data={"csrf_token": anonymous})

    assert response.status_code == 400
    assert CSRF_MESSAGE in response.text
    assert client.get(SEARCH).status_code == 200  # still signed in


# --- Idle timeout, re-authentication --------------------------------------------------------


def test_r11_an_idle_console_session_ends(client, clock):
    sign_in_to_console(client, "sophie.support")
    clock(timedelta(minutes=10))
    assert client.get(SEARCH).status_code == 200  # used: kept alive
    clock(timedelta(minutes=14))
    assert client.get(SEARCH).status_code == 200

    clock(timedelta(minutes=15))

    assert client.get(SEARCH).status_code == 303


def test_r11_a_session_ends_after_its_absolute_lifetime(client, app, clock):
    sign_in_to_console(client, "sophie.support")
    for _ in range(8 * 6):  # eight hours of activity, every ten minutes
        clock(timedelta(minutes=10))
        client.get(SEARCH)

    assert client.get(SEARCH).status_code == 303


def test_r11_a_change_asks_for_the_password_again_first(client, session, clock, demo):
    sign_in_to_console(client, "sophie.support")
    bruno = account_of(session, "bruno.petit", "certificateurs")
    before = bruno.expires_at
    clock(timedelta(minutes=6))  # past Support.reauth_minutes

    asked = post_from(client, ALPHA, f"/support/comptes/{bruno.id}/renouveler")

    assert asked.status_code == 303
    location = urlsplit(asked.headers["Location"])
    assert location.path == "/support/confirmer"
    assert parse_qs(location.query)["next"] == [ALPHA]
    assert account_of(session, "bruno.petit", "certificateurs").expires_at == before
    page = client.get(asked.headers["Location"])
    assert "saisissez de nouveau votre mot de passe" in page.text

    wrong = confirm_password(client, ALPHA, "pas-le-bon")
    assert DirectoryRefused.message in wrong.text
    back = confirm_password(client, ALPHA)
    assert back.headers["Location"] == ALPHA
    done = post_from(client, ALPHA, f"/support/comptes/{bruno.id}/renouveler")

    assert done.status_code == 303
    assert account_of(session, "bruno.petit", "certificateurs").expires_at > before
    assert len(audit_events(session, "support.reauthenticate")) == 1


def test_r11_directory_stopped_mid_session_browsing_goes_on_confirming_says_so(
    client, slapd, clock, demo
):
    sign_in_to_console(client, "sophie.support")
    slapd.stop()

    assert client.get(ALPHA).status_code == 200
    response = confirm_password(client, ALPHA)

    assert response.status_code == 503
    assert DirectoryUnavailable.message in shown(response)


# --- Readers --------------------------------------------------------------------------------


def test_r11_a_reader_sees_but_cannot_act(client, session, clock, demo):
    sign_in_to_console(client, "remi.lecteur")
    bruno = account_of(session, "bruno.petit", "certificateurs")
    before = bruno.expires_at

    page = client.get(ALPHA)
    assert "Bruno Petit" in page.text
    assert "Renouveler" not in page.text
    response = post_from(client, ALPHA, f"/support/comptes/{bruno.id}/renouveler")

    assert response.status_code == 403
    assert READ_ONLY in response.text
    assert account_of(session, "bruno.petit", "certificateurs").expires_at == before
    [refusal] = audit_events(session, "support.action.refused")
    assert refusal.actor == "support:remi.lecteur (Rémi Lecteur)"


# --- Search ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["100001", "10000010800017", "100 000 108 00017", "alpha formation"]
)
def test_r11_search_finds_the_structure_with_its_accounts(client, clock, demo, query):
    sign_in_to_console(client, "remi.lecteur")

    page = client.get(SEARCH, query_string={"q": query})

    assert "Organisme Alpha Formation" in page.text
    assert "Certificateurs — contrat CER-100001" in page.text
    assert "Alice Martin" in page.text
    assert "Chloé Roux" in page.text
    assert "Administrateurs sur Certificateurs :\n        Alice Martin (via SOLTÉA)" in page.text


@pytest.mark.parametrize("query", ["alice.martin", "alice.martin@alpha.example", "Martin", "chloe"])
def test_r11_search_finds_people_with_their_accounts(client, clock, demo, query):
    sign_in_to_console(client, "remi.lecteur")

    page = client.get(SEARCH, query_string={"q": query})

    assert "Personnes" in page.text
    name = "Chloé Roux" if query == "chloe" else "Alice Martin"
    assert name in page.text
    assert "Organisme Alpha Formation" in page.text


def test_a_search_that_finds_nothing_says_so(client, clock, demo):
    sign_in_to_console(client, "remi.lecteur")

    page = client.get(SEARCH, query_string={"q": "zzz-inconnu"})

    assert "Aucune structure ni aucune personne ne correspond à cette recherche." in page.text


def test_r9_the_structure_page_shows_delegated_administrators(client, clock, demo):
    sign_in_to_console(client, "remi.lecteur")

    page = client.get(ALPHA).text

    assert "CER-100001" in page
    assert "SOL-100001" in page
    certificateurs = page[page.index('id="portail-certificateurs"') :]
    certificateurs = certificateurs[: certificateurs.index("</section>")]
    assert "Alice Martin</a>\n      — Administrateur (via SOLTÉA)" in certificateurs
    assert "Expiré le" in certificateurs  # Bruno's account there


def test_an_unknown_structure_is_a_404_in_french(client, clock, demo):
    sign_in_to_console(client, "remi.lecteur")

    response = client.get("/support/structures/999999")

    assert response.status_code == 404
    assert "Aucune structure n'a ce matricule." in shown(response)


def test_the_person_page_lists_their_accounts(client, clock, demo):
    sign_in_to_console(client, "remi.lecteur")

    page = client.get("/support/personnes/alice.martin").text

    assert "alice.martin@alpha.example" in page
    assert "sur Certificateurs — Administrateur (via SOLTÉA)" in page  # no account there: R9
    assert "Non bloquée" in page


# --- Repairs --------------------------------------------------------------------------------


def test_r11_renewing_an_account_is_audited_as_the_operator(client, session, clock, demo):
    sign_in_to_console(client, "sophie.support")
    bruno = account_of(session, "bruno.petit", "certificateurs")

    response = post_from(client, ALPHA, f"/support/comptes/{bruno.id}/renouveler")

    assert response.status_code == 303
    assert response.headers["Location"] == f"{ALPHA}?fait=renouvellement"
    assert "Le compte a été renouvelé" in client.get(response.headers["Location"]).text
    assert not account_of(session, "bruno.petit", "certificateurs").is_expired(utcnow())
    [event] = audit_events(session, "account.renew")
    assert event.actor == SOPHIE
    history = client.get(ALPHA).text
    assert "Sophie Bernard (support)" in history


def test_r11_resending_an_invitation_is_audited_as_the_operator(
    client, session, settings, clock, demo
):
    structure = session.scalar(select(Structure).filter_by(matricule="100001"))
    invitation = invitations.invite(
        session,
        by=System("test"),
        structure=structure,
        portal=session.scalar(select(Portal).filter_by(code="soltea")),
        now=utcnow(),
        links=invitations.links(settings.secret_key, settings.public_url),
        existing="chloe.roux",
    )
    session.commit()
    nonce, invitation_id = invitation.nonce, invitation.id
    sign_in_to_console(client, "sophie.support")
    assert "Renvoyer l'invitation" in shown(client.get(ALPHA))

    response = post_from(client, ALPHA, f"/support/invitations/{invitation_id}/renvoyer")

    assert response.status_code == 303
    assert "L'invitation a été renvoyée" in shown(client.get(response.headers["Location"]))
    assert fresh(session).get(Invitation, invitation_id).nonce != nonce
    [event] = audit_events(session, "account.invitation_resent")
    assert event.actor == SOPHIE
    mails = session.scalars(select(OutboxMessage).filter_by(template="account_invitation")).all()
    assert len(mails) == 2


def test_r11_lifting_a_sign_in_lock_is_audited_as_the_operator(
    client, session, settings, clock, demo
):
    for _ in range(settings.throttling.user_lock_after):
        throttle.count_failure(
            session, throttle.user_key("alice.martin"), now=utcnow(), throttling=settings.throttling
        )
    session.commit()
    sign_in_to_console(client, "sophie.support")
    person = "/support/personnes/alice.martin"
    assert "Bloquée jusqu'au" in shown(client.get(person))

    response = post_from(client, person, f"{person}/debloquer")

    assert response.status_code == 303
    page = client.get(response.headers["Location"]).text
    assert "Le blocage de connexion a été levé" in page
    assert "Non bloquée" in page
    [event] = audit_events(session, "support.unlock")
    assert (event.actor, event.target) == (SOPHIE, "alice.martin")


def test_a_repair_on_nothing_is_a_french_404(client, clock, demo):
    sign_in_to_console(client, "sophie.support")

    response = post_from(client, ALPHA, "/support/comptes/999999/renouveler")

    assert response.status_code == 404
    assert "Compte introuvable." in response.text


# --- Which directory ------------------------------------------------------------------------


@pytest.fixture
def unconfigured(settings, session_factory):
    from idp import create_app

    return create_app(replace(settings, ldap=None), TESTING=True)


def test_without_a_directory_the_console_says_it_is_not_configured(unconfigured):
    response = unconfigured.test_client().get("/support/connexion")

    assert response.status_code == 503
    assert NOT_CONFIGURED in shown(response)


def test_the_demo_signs_in_from_its_embedded_directory(settings, session_factory, clock):
    from idp import create_app

    demo_settings = replace(settings, ldap=None, support=Support(demo_directory=True))
    client = create_app(demo_settings, TESTING=True).test_client()

    response = sign_in_to_console(client, "sophie.support", DEMO_PASSWORD, next=SEARCH)

    assert response.headers["Location"] == SEARCH
    assert "Sophie Bernard" in client.get(SEARCH).text


def test_hub_run_demo_signs_the_console_in_from_the_embedded_directory(app, monkeypatch):
    """`make run` needs no directory server; a configured directory wins over the demo's."""
    from launcher.run import hub_server

    monkeypatch.delenv("HUB_LDAP_URL", raising=False)
    with app.app_context():
        demo = hub_server("127.0.0.1", 5000, 1, demo=True)
        plain = hub_server("127.0.0.1", 5000, 1)
        monkeypatch.setenv("HUB_LDAP_URL", "ldap://annuaire.example")
        configured = hub_server("127.0.0.1", 5000, 1, demo=True)

    assert demo.env["HUB_SUPPORT_DEMO_DIRECTORY"] == "1"
    assert "HUB_SUPPORT_DEMO_DIRECTORY" not in plain.env
    assert "HUB_SUPPORT_DEMO_DIRECTORY" not in configured.env


@pytest.mark.parametrize(
    "path",
    [
        "/support/structures/1000\x0001",
        "/support/structures/100001?page=" + "9" * 5000,
        "/support/structures/100001?page=99999999",
        "/support/personnes/alice\x00martin",
        "/support/recherche?q=%00%01" + "x" * 5000,
        "/support/recherche?q=%25_%5C",
    ],
)
def test_hostile_input_at_the_console_is_never_a_5xx(client, clock, demo, path):
    sign_in_to_console(client, "sophie.support")

    response = client.get(path)

    assert response.status_code < 500  # the input guard refuses some of it with 400


def test_unlocking_nobody_is_a_french_404(client, clock, demo):
    sign_in_to_console(client, "sophie.support")
    person = "/support/personnes/alice.martin"

    response = post_from(client, person, "/support/personnes/alice%00martin/debloquer")

    assert response.status_code == 404
    assert "Personne introuvable." in response.text
