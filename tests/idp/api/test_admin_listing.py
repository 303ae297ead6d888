"""« Gérer les comptes existants » through the API (R2, R3, R9, R15): the accounts of a
structure on a portal with search, status filter, sort and pagination, and the administrators by
delegation shown as « Administrateur (via SOLTÉA) »."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.clock import utcnow
from tests.factories import make_account, make_user
from tests.idp.api.demo_accounts import account_of, accounts_url


@pytest.fixture
def alice(bearer):
    return bearer("alice.martin", "soltea")


def listing(client, headers, portal="certificateurs", **params):
    response = client.get(accounts_url(portal=portal), query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def usernames(page):
    return [item["user"]["username"] for item in page["items"]]


def last_names(page):
    return [item["user"]["last_name"] for item in page["items"]]


def test_r9_alice_lists_certificateurs_accounts_from_soltea(client, alice, session):
    page = listing(client, alice)

    assert (page["total"], page["page"], page["per_page"]) == (3, 1, 50)
    bruno, emma, chloe = page["items"]
    assert (emma["user"]["username"], emma["status"], emma["data_exchange"]) == (
        "emma.leroy",
        "valid",
        True,
    )
    assert bruno == {
        "id": account_of(session, "bruno.petit", "certificateurs").id,
        "user": {
            "sub": bruno["user"]["sub"],
            "username": "bruno.petit",
            "civility": "M.",
            "last_name": "Petit",
            "first_name": "Bruno",
            "email": "bruno.petit@alpha.example",
            "service": None,
            "mobile_phone": None,
            "landline_phone": None,
        },
        "structure": {"matricule": "100001", "name": "Organisme Alpha Formation"},
        "portal": {"code": "certificateurs", "name": "Certificateurs"},
        "role": "user",
        "is_first_admin": False,
        "rights": ["data_exchange"],
        "data_exchange": True,
        "created_at": bruno["created_at"],
        "expires_at": (utcnow() - timedelta(days=10)).isoformat(),
        "status": "expired",  # R3: « Expiré »
    }
    assert (chloe["user"]["username"], chloe["status"], chloe["data_exchange"]) == (
        "chloe.roux",
        "valid",
        False,  # R7: withdrawn
    )


def test_r9_delegated_admins_are_listed_with_the_portal_they_come_from(client, alice, session):
    page = listing(client, alice)

    [delegated] = page["delegated_admins"]
    assert delegated["user"]["username"] == "alice.martin"
    assert delegated["via"] == {"code": "soltea", "name": "SOLTÉA"}  # « (via SOLTÉA) »
    assert (
        delegated["expires_at"]
        == account_of(session, "alice.martin", "soltea").expires_at.isoformat()
    )
    assert listing(client, alice, portal="soltea")["delegated_admins"] == []


def test_the_first_admin_is_flagged(client, alice):
    [alice_row] = [
        i for i in listing(client, alice, portal="soltea")["items"] if i["role"] == "admin"
    ]

    assert alice_row["is_first_admin"] is True


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("chloe", ["chloe.roux"]),  # accents ignored: « Chloé »
        ("ROUX", ["chloe.roux"]),  # case ignored
        ("petit", ["bruno.petit"]),
        ("bruno petit", ["bruno.petit"]),  # every word must match
        ("chloe.roux@alpha", ["chloe.roux"]),  # email
        ("alpha.example", ["bruno.petit", "emma.leroy", "chloe.roux"]),
        ("100%", []),  # % and _ are letters, not wildcards
        ("zorro", []),
        ("  ", ["bruno.petit", "emma.leroy", "chloe.roux"]),
    ],
)
def test_search_by_nom_prenom_email_identifiant(client, alice, search, found):
    page = listing(client, alice, q=search)

    assert usernames(page) == found
    assert page["total"] == len(found)


def test_a_search_holding_a_control_character_is_refused_by_name(client, alice):
    """Issue 12 §1: no query parameter holds one (`idp.input_guard`), never a 500."""
    response = client.get(accounts_url(), query_string={"q": "ro\x00ux"}, headers=alice)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_field"
    assert response.get_json()["field"] == "q"


@pytest.fixture
def expiring_soon(session, now):
    """A Certificateurs account of Alpha expiring in 10 days: « Expire bientôt »."""
    bruno = account_of(session, "bruno.petit", "certificateurs")
    account = make_account(
        session,
        now=now,
        structure=bruno.structure,
        portal=bruno.portal,
        user=make_user(session, first_name="Élodie", last_name="Abadie"),
        expires_in=timedelta(days=10),
    )
    session.commit()
    return account


@pytest.mark.parametrize(
    ("status", "found"),
    [
        ("valid", ["Abadie", "Leroy", "Roux"]),  # every account not expired
        ("expiring", ["Abadie"]),  # valid, and expiring within 30 days
        ("expired", ["Petit"]),
        ("", ["Petit", "Abadie", "Leroy", "Roux"]),  # « Tous »
    ],
)
def test_r3_status_filter(client, alice, expiring_soon, status, found):
    page = listing(client, alice, status=status)

    assert last_names(page) == found
    statuses = {i["user"]["last_name"]: i["status"] for i in page["items"]}
    assert statuses.get("Abadie", "expiring") == "expiring"


@pytest.mark.parametrize(
    ("sort", "found"),
    [
        ("expires_at", ["Petit", "Abadie", "Leroy", "Roux"]),
        ("-expires_at", ["Roux", "Leroy", "Abadie", "Petit"]),
        ("name", ["Abadie", "Leroy", "Petit", "Roux"]),
        ("-name", ["Roux", "Petit", "Leroy", "Abadie"]),
    ],
)
def test_sort_by_expiry_or_name(client, alice, expiring_soon, sort, found):
    assert last_names(listing(client, alice, sort=sort)) == found


def test_name_sort_ignores_accents_and_breaks_ties_by_id(client, alice, session, now):
    bruno = account_of(session, "bruno.petit", "certificateurs")
    for first_name in ("Émile", "Eddy", "Fanny"):
        make_account(
            session,
            now=now,
            structure=bruno.structure,
            portal=bruno.portal,
            user=make_user(session, first_name=first_name, last_name="Dupont"),
        )
    session.commit()

    names = [i["user"]["first_name"] for i in listing(client, alice, sort="name")["items"]]

    assert names == ["Eddy", "Émile", "Fanny", "Emma", "Bruno", "Chloé"]


def test_pagination(client, alice, expiring_soon):
    first = listing(client, alice, per_page=2)
    second = listing(client, alice, per_page=2, page=2)
    beyond = listing(client, alice, per_page=2, page=3)

    assert (first["total"], second["total"], beyond["total"]) == (4, 4, 4)
    assert last_names(first) + last_names(second) == ["Petit", "Abadie", "Leroy", "Roux"]
    assert beyond["items"] == []
    assert listing(client, alice, per_page=2, page=10**30)["items"] == []


@pytest.mark.parametrize(
    ("asked", "given"), [("1000000", 200), (str(10**40), 200), ("0", 1), ("-5", 1), ("7", 7)]
)
def test_page_sizes_are_clamped_not_refused(client, alice, asked, given):
    assert listing(client, alice, per_page=asked)["per_page"] == given


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "0"}, "page"),
        ({"page": "deux"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"per_page": "beaucoup"}, "per_page"),
        ({"status": "bientot"}, "status"),
        ({"sort": "prenom"}, "sort"),
        ({"q": "x" * 101}, "q"),
    ],
)
def test_bad_parameters_are_400_naming_the_field(client, alice, params, field):
    response = client.get(accounts_url(), query_string=params, headers=alice)

    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert response.get_json()["message"]


def test_matricules_and_codes_the_database_would_refuse_are_not_found(client, alice):
    for url in (
        accounts_url("1000%0001"),
        accounts_url("abc"),
        accounts_url(portal="cert%00ificateurs"),
        accounts_url("1" * 500),
    ):
        assert client.get(url, headers=alice).status_code == 404, url
