"""Registration on a portal (issue 6 §1; R1, R10, R12), through the hub's pages on both databases:
matricule and contract number, the person's details and the CGU, a validation link by mail,
then a password — and the person is the structure's first administrator, signed in. Nothing
exists before the link is followed; every attempt is audited."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from hub.accounts.models import Account, Role
from hub.clock import add_months, utcnow
from hub.errors import UNKNOWN_PAIR
from hub.mail.models import OutboxMessage
from hub.registration.models import Registration, RegistrationStatus, TermsAcceptance
from hub.registration.terms import TERMS_VERSION
from hub.structures.models import Mandate, Structure
from hub.users.models import User
from idp.web.sessions import COOKIE_NAME
from tests.idp.registering import (
    ALPHA,
    BETA,
    CAMILLE,
    GAMMA,
    NEW_PASSWORD,
    choose_password,
    give_details,
    look_up,
    register_until_mailed,
    validation_link,
)
from tests.idp.signing_in import audit_events, comparable, csrf_token_of, submit_login

AUTHORIZE = (
    "/authorize?response_type=code&client_id=certificateurs&redirect_uri=http%3A%2F%2F127.0.0.1"
    "%3A5002%2Fauth%2Fcallback&scope=openid+profile&state=etat&nonce=n&code_challenge=E9Melhoa2O"
    "wvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256"
)
NOT_HERE = UNKNOWN_PAIR.format(portal="Certificateurs")
R10_ALICE = (
    "Votre structure dispose déjà d'un administrateur : Alice Martin. Rapprochez-vous de cette "
    "personne pour qu'elle vous crée un compte."
)


@pytest.fixture(autouse=True)
def frozen(time_machine, now):
    time_machine.move_to(now, tick=False)


def shown(text: str) -> str:
    """`text` as Jinja escapes it in a page."""
    return text.replace("'", "&#39;").replace('"', "&#34;")


def people(session) -> set[str]:
    session.rollback()
    return set(session.scalars(select(User.username)))


def accounts_of(session, username: str) -> list[Account]:
    session.rollback()
    return list(
        session.scalars(select(Account).join(Account.user).filter(User.username == username))
    )


def test_r12_nothing_exists_until_the_mailed_link_is_followed(client, session, demo):
    before = people(session)

    sent = register_until_mailed(client)

    assert sent.status_code == 200
    assert "Un courriel de validation vient d'être envoyé à" in sent.text
    assert "camille.lefevre@beta.example" in sent.text
    assert people(session) == before
    (registration,) = session.scalars(select(Registration)).all()
    assert registration.status is RegistrationStatus.PENDING
    assert registration.terms_version == TERMS_VERSION
    assert registration.terms_accepted_at == utcnow()
    (mail,) = session.scalars(select(OutboxMessage)).all()
    assert mail.recipient == "camille.lefevre@beta.example"
    assert mail.subject == "Validez votre adresse e-mail pour créer votre compte sur Certificateurs"
    assert "valable jusqu'au 24/11/2026 à 11:00 et utilisable une seule fois" in mail.text_body
    assert [e.after["outcome"] for e in audit_events(session, "registration.lookup")] == ["ok"] * 2
    assert len(audit_events(session, "registration.request")) == 1


def test_r1_r12_certif_beta_registered_its_first_admin_is_signed_in(client, session, demo):
    register_until_mailed(client)
    link = validation_link(session, CAMILLE["email"])

    page = client.get(link)
    done = choose_password(client, link)

    assert "Votre identifiant sera <strong>camille.lefevre</strong>" in page.text
    assert "au moins 12 caractères" in page.text
    assert done.status_code == 200
    assert "Votre identifiant est camille.lefevre" in done.text
    assert "vous êtes l&#39;administrateur de Certif Beta sur Certificateurs" in done.text
    assert 'href="http://127.0.0.1:5002"' in done.text
    assert client.get_cookie(COOKIE_NAME) is not None  # signed in at the hub
    assert "Camille Lefèvre (camille.lefevre)" in client.get("/").text
    (account,) = accounts_of(session, "camille.lefevre")
    assert (account.structure.matricule, account.portal.code) == ("100002", "certificateurs")
    assert account.role is Role.ADMIN
    assert account.is_first_admin
    assert account.expires_at == add_months(utcnow(), 18)
    user = account.user
    assert user.email_verified
    assert user.email == CAMILLE["email"]
    assert user.civility.value == "Mme"
    assert (user.service, user.mobile_phone) == ("Certification", "0611223344")
    acceptance = session.scalar(select(TermsAcceptance).filter_by(user_id=user.id))
    assert (acceptance.version, acceptance.accepted_at) == (TERMS_VERSION, utcnow())
    welcome = session.scalar(select(OutboxMessage).filter_by(template="registration_completed"))
    assert welcome.recipient == CAMILLE["email"]
    assert "Identifiant : camille.lefevre" in welcome.text_body
    assert len(audit_events(session, "registration.complete")) == 1


def test_r12_prompt_create_ends_signed_in_on_the_portal_it_came_from(client, session, demo):
    started = client.get(AUTHORIZE + "&prompt=create")
    register_page = started.headers["Location"]
    query = parse_qs(urlsplit(register_page).query)
    next_path = query["next"][0]
    register_until_mailed(client, next=next_path)

    done = choose_password(client, validation_link(session, CAMILLE["email"]))
    back = client.get(done.headers["Location"])

    assert started.status_code == 302
    assert query["portal"] == ["certificateurs"]
    assert "prompt" not in parse_qs(urlsplit(next_path).query)
    assert done.status_code == 303
    assert done.headers["Location"] == next_path
    assert back.status_code == 302
    assert back.headers["Location"].startswith("http://127.0.0.1:5002/auth/callback?code=")


def test_r10_a_second_person_registering_beta_is_told_the_first_admins_name(
    client, app, session, demo
):
    register_until_mailed(client)
    choose_password(client, validation_link(session, CAMILLE["email"]))

    refused = look_up(app.test_client(), address="198.51.100.7", **BETA)

    assert refused.status_code == 409
    r10 = R10_ALICE.replace("Alice Martin", "Camille Lefèvre")
    assert shown(r10) in refused.text
    outcomes = [e.after["outcome"] for e in audit_events(session, "registration.lookup")]
    assert outcomes[-1] == "admin_already_exists"


def test_r10_alpha_on_certificateurs_names_alice_martin_its_delegated_admin(client, demo):
    refused = look_up(client, **ALPHA)

    assert refused.status_code == 409
    assert shown(R10_ALICE) in refused.text
    assert 'name="etape"' not in refused.text


def test_r10_alpha_on_soltea_names_alice_martin_its_direct_admin(client, demo):
    refused = look_up(client, "soltea", matricule="100001", contract="SOL-100001")

    assert shown(R10_ALICE) in refused.text


def test_r10_a_link_followed_after_someone_else_registered_names_them(app, session, demo):
    first, second = app.test_client(), app.test_client()
    register_until_mailed(first)
    register_until_mailed(
        second, email="dominique.bernard@beta.example", first_name="Dominique", last_name="Bernard"
    )
    choose_password(first, validation_link(session, CAMILLE["email"]))

    late = second.get(validation_link(session, "dominique.bernard@beta.example"))

    assert late.status_code == 409
    assert "dispose déjà d&#39;un administrateur : Camille Lefèvre." in late.text
    assert "dominique.bernard" not in people(session)


def test_r12_gamma_registers_as_the_mandated_depositor_of_beta(client, app, session, demo):
    beta_admin = app.test_client()
    register_until_mailed(beta_admin)
    choose_password(beta_admin, validation_link(session, CAMILLE["email"]))

    step = look_up(client, **GAMMA, depositor="1", certifiers="100 002")
    give_details(
        client,
        step,
        email="gaston.morel@gamma.example",
        first_name="Gaston",
        last_name="Morel",
        civility="M.",
    )
    done = choose_password(client, validation_link(session, "gaston.morel@gamma.example"))

    assert "Déposant mandaté pour" in step.text
    assert "Certif Beta (100002)" in step.text
    assert done.status_code == 200
    session.rollback()
    (mandate,) = session.scalars(select(Mandate)).all()
    assert (mandate.depositor.matricule, mandate.certifier.matricule) == ("100003", "100002")
    (account,) = accounts_of(session, "gaston.morel")
    assert account.is_first_admin
    assert account.structure.matricule == "100003"
    events = audit_events(session, "mandate.create")
    beta, gamma = (
        session.scalar(select(Structure.id).filter_by(matricule=m)) for m in ("100002", "100003")
    )
    assert sorted(e.structure_id for e in events) == sorted([beta, gamma])  # seen on both sides
    told = session.scalar(select(OutboxMessage).filter_by(template="mandate_declared"))
    assert told.recipient == CAMILLE["email"]  # Beta's administrator
    assert "Gamma Dépôts (tiers de confiance) (matricule 100003)" in told.text_body
    welcome = session.scalar(
        select(OutboxMessage).filter_by(
            template="registration_completed", recipient=account.user.email
        )
    )
    assert "Certif Beta (matricule 100002)" in welcome.text_body


# --- Bad input: clear French messages, nothing half-created, every attempt audited ------------


def test_r12_spaces_in_a_matricule_are_dropped(client, demo):
    step = look_up(client, matricule=" 100 002 ", contract="cer-100002")

    assert step.status_code == 200
    assert "Certif Beta (matricule 100002)" in step.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"matricule": "10O002", "contract": "CER-100002"},
            "Le matricule « 10O002 » doit être composé uniquement de chiffres (20 au plus).",
        ),
        ({"matricule": "999999", "contract": "CER-999999"}, NOT_HERE),
        ({"matricule": "100002", "contract": "CER-100003"}, NOT_HERE),
        ({"matricule": "100001", "contract": "SOL-100001"}, NOT_HERE),
        (
            {"matricule": "100002", "contract": ""},
            "Le numéro de contrat est obligatoire.",
        ),
        (
            {**GAMMA, "depositor": "1", "certifiers": ""},
            "Indiquez le matricule du ou des certificateurs pour lesquels vous déposez.",
        ),
        (
            {**GAMMA, "depositor": "1", "certifiers": "100002, 999998"},
            "Le matricule « 999998 » ne correspond à aucun certificateur présent sur "
            "Certificateurs.",
        ),
        (
            {**GAMMA, "depositor": "1", "certifiers": "100003"},
            "Le matricule d'un certificateur doit être différent de celui de votre structure.",
        ),
        (
            {**GAMMA, "depositor": "1", "certifiers": "10000A"},
            "Le matricule « 10000A » doit être composé uniquement de chiffres",
        ),
        (
            {**GAMMA, "certifiers": "100002"},
            "cochez « Je suis un déposant mandaté (tiers de confiance) », ou videz ce champ.",
        ),
    ],
    ids=[
        "letters",
        "unknown-structure",
        "wrong-contract",
        "contract-of-another-portal",
        "no-contract",
        "depositor-without-certifiers",
        "unknown-certifier",
        "certifier-is-itself",
        "certifier-with-letters",
        "certifiers-without-the-option",
    ],
)
def test_r12_step_one_refuses_with_a_clear_message(client, session, demo, fields, message):
    refused = look_up(client, **fields)

    assert refused.status_code == 200
    assert shown(message) in refused.text
    assert 'role="alert"' in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert 'name="etape"' not in refused.text
    (event,) = audit_events(session, "registration.lookup")
    assert event.after["outcome"] != "ok"
    assert event.after["ip"] == "192.0.2.20"


@pytest.mark.parametrize(
    ("portal", "fields"),
    [
        ("certificateurs", {"matricule": "999999", "contract": "CER-999999"}),  # no structure
        ("certificateurs", {"matricule": "100002", "contract": "CER-100003"}),  # Gamma's contract
        ("certificateurs", {"matricule": "100001", "contract": "SOL-100001"}),  # SOLTÉA's one
        ("soltea", {"matricule": "100002", "contract": "CER-100002"}),  # no SOLTÉA contract
        ("soltea", {"matricule": "100002", "contract": "SOL-100002"}),
    ],
    ids=["unknown", "another-structure", "another-portal", "of-nobody-here", "invented"],
)
def test_r10_r12_a_pair_that_is_not_this_portals_gets_one_answer_naming_nothing(
    client, session, demo, portal, fields
):
    """Issue 12 §2: step 1 tells nobody which matricules exist or which contracts they hold
    (R11's requests are keyed on them); the audit log keeps what it was."""
    refused = look_up(client, portal, **fields)

    name = "SOLTÉA" if portal == "soltea" else "Certificateurs"
    assert refused.status_code == 200
    assert shown(UNKNOWN_PAIR.format(portal=name)) in refused.text
    page = refused.text.replace(fields["contract"], "C").replace(fields["matricule"], "M")
    for hint in ("SOLTÉA, pas", "Alpha", "Beta", "Gamma", "Alice", "Martin"):
        assert hint not in page
    (event,) = audit_events(session, "registration.lookup")
    assert event.after["outcome"] in {"unknown_structure", "contract_mismatch"}


def test_r12_the_generic_refusal_is_the_same_page_whatever_the_pair(client, demo):
    pages = [
        re.sub(r' value="[^"]*"', "", look_up(client, matricule=m, contract=c).text)
        for m, c in (("999999", "CER-999999"), ("100001", "SOL-100001"), ("100002", "CER-100003"))
    ]

    assert pages[0] == pages[1] == pages[2]


def test_r12_an_address_the_hub_knows_gets_the_same_page_and_a_mail_of_its_own(
    client, app, session, demo
):
    """Issue 12 §2: step 2 answers the same whatever the address; its holder is told their
    identifiant and how to add the account, and no second identity is ever created."""
    before = people(session)

    known = register_until_mailed(client, email="Alice.Martin@alpha.example")
    new = register_until_mailed(app.test_client(), address="198.51.100.7")

    assert known.status_code == new.status_code == 200
    assert comparable(known.text.replace("alice.martin@alpha.example", "X")) == comparable(
        new.text.replace(CAMILLE["email"], "X")
    )
    assert people(session) == before
    mail = session.scalar(select(OutboxMessage).filter_by(recipient="alice.martin@alpha.example"))
    assert mail.template == "registration_known_address"
    assert mail.subject == "Ajoutez le compte de Certif Beta sur Certificateurs à votre identifiant"
    assert "Bonjour Mme Martin," in mail.text_body  # the name the hub knows, not the one typed
    assert "Identifiant : alice.martin" in mail.text_body
    assert "« Mot de passe oublié ? »" in mail.text_body
    assert "/register/confirm/" in mail.text_body
    assert [e.after["email"] for e in audit_events(session, "registration.request")] == [
        "alice.martin@alpha.example",
        CAMILLE["email"],
    ]


def sign_in_to(client, location: str, username: str):
    """The sign-in form a page sent the browser to, filled in by `username`."""
    return submit_login(client, username, next=parse_qs(urlsplit(location).query)["next"][0])


def test_r14_the_holder_of_a_known_address_signs_in_and_adds_the_account_in_one_click(
    client, session, demo
):
    register_until_mailed(client, email="bruno.petit@alpha.example")
    link = validation_link(session, "bruno.petit@alpha.example", "registration_known_address")

    first = client.get(link)
    signed_in = sign_in_to(client, first.headers["Location"], "bruno.petit")
    page = client.get(link)
    done = client.post(link, data={"csrf_token": csrf_token_of(page.text)})

    assert first.status_code == 303
    assert first.headers["Location"] == f"/login?next={link}"
    assert signed_in.headers["Location"] == link
    assert "Vous êtes connecté avec l'identifiant <strong>bruno.petit</strong>" in page.text
    assert "Ajouter ce compte à mon identifiant" in page.text
    assert done.status_code == 200
    assert "Ce compte est ajouté à votre identifiant bruno.petit" in done.text
    beta = [a for a in accounts_of(session, "bruno.petit") if a.structure.matricule == "100002"]
    assert [(a.portal.code, a.role, a.is_first_admin) for a in beta] == [
        ("certificateurs", Role.ADMIN, True)
    ]
    assert session.scalar(select(func.count(User.id)).filter_by(email=CAMILLE["email"])) == 0
    assert client.get(link).status_code == 409  # used


def test_r14_someone_else_signed_in_is_sent_to_sign_in_as_the_holder(client, session, demo):
    register_until_mailed(client, email="bruno.petit@alpha.example")
    link = validation_link(session, "bruno.petit@alpha.example", "registration_known_address")
    submit_login(client, "chloe.roux")

    page = client.get(link)
    forged = client.post(link, data={"csrf_token": csrf_token_of(client.get("/login").text)})

    assert page.status_code == forged.status_code == 303
    assert page.headers["Location"].startswith("/login?next=")
    assert not [a for a in accounts_of(session, "chloe.roux") if a.structure.matricule == "100002"]
    assert not [a for a in accounts_of(session, "bruno.petit") if a.structure.matricule == "100002"]


def test_r12_a_step_token_mails_once(client, session, demo):
    """Issue 12 §2: a step token replayed to try address after address is refused."""
    step_page = look_up(client, **BETA)
    first = give_details(client, step_page)
    replayed = give_details(client, step_page, email="alice.martin@alpha.example")

    assert first.status_code == 200
    assert replayed.status_code == 400
    assert "Cette demande d&#39;inscription a déjà été envoyée" in replayed.text
    session.rollback()
    assert [m.recipient for m in session.scalars(select(OutboxMessage))] == [CAMILLE["email"]]
    refused = audit_events(session, "registration.request_refused")
    assert [e.after["reason"] for e in refused] == ["registration_step_used"]


def test_r12_a_step_form_with_errors_can_be_corrected_and_sent(client, session, demo):
    step_page = look_up(client, **BETA)
    corrected = give_details(client, step_page, email="pas-une-adresse")

    sent = give_details(client, corrected)

    assert "Vérifiez votre messagerie" in sent.text


def test_r12_the_cgu_must_be_accepted(client, session, demo):
    refused = register_until_mailed(client, terms=None)

    assert shown("Vous devez accepter les conditions générales d'utilisation (CGU)") in refused.text
    assert session.scalar(select(func.count(Registration.id))) == 0


def test_r12_every_wrong_detail_is_shown_at_once(client, demo):
    refused = register_until_mailed(
        client, civility=None, last_name="", first_name="J3anne", email="pas-une-adresse"
    )

    assert "Indiquez votre civilité." in refused.text
    assert "Le champ « Nom » est obligatoire." in refused.text
    assert "Le champ « Prénom » ne peut contenir que des lettres" in refused.text
    assert "L&#39;adresse e-mail « pas-une-adresse » n&#39;est pas valide." in refused.text


def test_r12_the_cgu_page_shows_its_version(client):
    page = client.get("/cgu")

    assert page.status_code == 200
    assert f"Version {TERMS_VERSION}" in page.text


def test_r12_registration_without_a_known_portal_offers_the_portals(client, demo):
    without = client.get("/register")
    unknown = client.get("/register?portal=inconnu")

    assert without.status_code == 200
    assert unknown.status_code == 404
    assert 'href="/register?portal=certificateurs"' in without.text


def test_r12_a_next_that_is_not_the_portals_authorization_request_is_dropped(client, demo):
    soltea_request = AUTHORIZE.replace("client_id=certificateurs", "client_id=soltea")

    page = client.get(
        "/register", query_string={"portal": "certificateurs", "next": soltea_request}
    )
    elsewhere = client.get(
        "/register", query_string={"portal": "certificateurs", "next": "https://evil.example/"}
    )

    assert 'name="next"' not in page.text
    assert 'name="next"' not in elsewhere.text


@pytest.mark.parametrize(
    ("password", "confirmation", "message"),
    [
        ("Court-1!", None, "Le mot de passe doit contenir au moins 12 caractères."),
        ("toutenminuscules", None, "Le mot de passe doit mélanger au moins 3 types"),
        ("Camille.Lefevre-2026", None, "ni votre identifiant ni votre adresse e-mail"),
        ("Azerty123456!", None, "Ce mot de passe est trop courant."),
        (NEW_PASSWORD, NEW_PASSWORD + "x", "Les deux mots de passe ne sont pas identiques."),
    ],
    ids=["too-short", "one-class", "identifiant", "common", "confirmation"],
)
def test_r12_a_weak_password_creates_nothing(
    client, session, demo, password, confirmation, message
):
    register_until_mailed(client)
    link = validation_link(session, CAMILLE["email"])

    refused = choose_password(client, link, password, confirmation)

    assert refused.status_code == 200
    assert message in refused.text.replace("&#39;", "'")
    assert "camille.lefevre" not in people(session)
    assert client.get_cookie(COOKIE_NAME) is None
    (event,) = audit_events(session, "registration.complete_refused")
    assert event.after["reason"].startswith("password:")
    assert choose_password(client, link).status_code == 200  # the link still works


def test_r12_an_expired_link_says_so_and_creates_nothing(client, session, demo, time_machine, now):
    register_until_mailed(client)
    link = validation_link(session, CAMILLE["email"])
    time_machine.move_to(now + timedelta(hours=24), tick=False)

    expired = client.get(link)

    assert expired.status_code == 410
    assert "Ce lien de validation a expiré" in expired.text
    assert 'href="/register?portal=certificateurs"' in expired.text
    assert "camille.lefevre" not in people(session)
    (event,) = audit_events(session, "registration.link_refused")
    assert event.after["reason"] == "expired"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        lambda token: token[: len(token) // 2],
        lambda token: "x" * 2000,
    ],
    ids=["signature", "truncated", "oversized"],
)
def test_r12_a_tampered_link_opens_nothing(client, session, demo, tamper):
    register_until_mailed(client)
    link = validation_link(session, CAMILLE["email"])
    prefix, token = link.rsplit("/", 1)

    refused = client.get(f"{prefix}/{tamper(token)}")

    assert refused.status_code == 404
    assert "Ce lien de validation n&#39;est pas valable" in refused.text
    (event,) = audit_events(session, "registration.link_refused")
    assert event.after["reason"] == "invalid"


def test_r12_a_used_link_and_a_replayed_password_form_create_nothing_more(client, session, demo):
    register_until_mailed(client)
    link = validation_link(session, CAMILLE["email"])
    form_page = client.get(link)
    data = {
        "csrf_token": csrf_token_of(form_page.text),
        "password": NEW_PASSWORD,
        "password_confirmation": NEW_PASSWORD,
    }
    first = client.post(link, data=data)

    replayed = client.post(link, data=data)  # its token died with the sign-in (issue 12 §3)
    reopened = client.get(link)

    assert first.status_code == 200
    assert replayed.status_code == 400
    assert reopened.status_code == 409
    assert "Cette inscription est déjà validée" in reopened.text
    session.rollback()
    assert session.scalar(select(func.count(User.id)).filter_by(email=CAMILLE["email"])) == 1
    assert len(accounts_of(session, "camille.lefevre")) == 1
    assert len(audit_events(session, "registration.form_refused")) == 1
    reasons = [e.after["reason"] for e in audit_events(session, "registration.link_refused")]
    assert reasons == ["used"]


@pytest.mark.parametrize("step", ["structure", "person", "password"])
def test_r12_forms_without_their_csrf_token_are_refused(client, session, demo, step):
    if step == "structure":
        refused = look_up(client, csrf=False, **BETA)
    elif step == "person":
        step_page = look_up(client, **BETA)
        client.delete_cookie("hub_csrf")
        refused = give_details(client, step_page)
    else:
        register_until_mailed(client)
        refused = client.post(
            validation_link(session, CAMILLE["email"]),
            data={"password": NEW_PASSWORD, "password_confirmation": NEW_PASSWORD},
        )

    assert refused.status_code == 400
    assert "Le formulaire a expiré ou ne provient pas de ce site." in refused.text
    assert "camille.lefevre" not in people(session)
    (event,) = audit_events(session, "registration.form_refused")
    assert event.after["step"] == step


def test_r12_a_tampered_or_stale_step_token_sends_back_to_step_one(
    client, session, demo, time_machine, now
):
    step_page = look_up(client, **BETA)
    forged = give_details(client, step_page, etape="eyJwb3J0YWwiOiJzb2x0ZWEifQ.AAAA")
    time_machine.move_to(now + timedelta(hours=3), tick=False)
    stale = give_details(client, step_page)

    for refused in (forged, stale):
        assert refused.status_code == 400
        assert "Votre demande d&#39;inscription a expiré" in refused.text
    assert session.scalar(select(func.count(Registration.id))) == 0


def test_r10_look_ups_are_throttled_per_address(client, app, session, demo):
    for _ in range(20):
        assert look_up(client, matricule="999999", contract="X-1").status_code == 200

    throttled = look_up(client, **BETA)
    elsewhere = look_up(app.test_client(), address="203.0.113.9", **BETA)

    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) == 3600
    assert "Trop de tentatives d&#39;inscription depuis votre connexion." in throttled.text
    assert 'name="etape"' not in throttled.text
    assert elsewhere.status_code == 200
    (event,) = audit_events(session, "registration.throttled")
    assert event.after["ip"] == "192.0.2.20"
