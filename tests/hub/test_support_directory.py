"""R11: support operators sign in from the organisation's directory — a real OpenLDAP `slapd`
here (`tests.fixtures.slapd`), ldap3's offline mock for the demo — never from the hub's people.
Search with the service account, bind as the person, role from the groups; one refusal for
every failure, so that the console is no oracle on the directory."""

from __future__ import annotations

import pytest
from ldap3 import BASE, Connection, Server

from hub.config import Ldap, Settings
from hub.errors import DirectoryRefused, DirectoryUnavailable
from hub.support.directory import DEMO_PASSWORD, Directory, demo_directory, network_connector
from hub.support.models import OperatorRole
from tests.fixtures.ports import closed_port
from tests.fixtures.slapd import (
    HIDDEN,
    OPERATORS,
    PASSWORD,
    PEOPLE,
    READERS,
    ROOT_DN,
    ROOT_PASSWORD,
    SERVICE_DN,
    SERVICE_PASSWORD,
)
from tests.fixtures.slapd import (
    slapd as slapd,  # the fixtures, used by name
)
from tests.fixtures.slapd import (
    tls_slapd as tls_slapd,
)


def settings_for(url: str, **changes: object) -> Ldap:
    values = {
        "url": url,
        "user_base": PEOPLE,
        "operator_group": OPERATORS,
        "reader_group": READERS,
        "bind_dn": SERVICE_DN,
        "bind_password": SERVICE_PASSWORD,
        "timeout": 2.0,
    }
    return Ldap(**(values | changes))


@pytest.fixture
def directory(slapd) -> Directory:
    return Directory(settings_for(slapd.url))


def test_an_operator_signs_in_with_the_directory_password_and_may_act(directory):
    operator = directory.authenticate("sophie.support", PASSWORD)

    assert (operator.login, operator.name, operator.role) == (
        "sophie.support",
        "Sophie Bernard",
        OperatorRole.OPERATOR,
    )
    assert operator.dn == f"uid=sophie.support,{PEOPLE}"
    assert operator.can_act


def test_membership_is_also_read_from_memberof_when_the_group_itself_is_out_of_reach(slapd):
    """Active Directory's usual set-up: the person's `memberOf` tells the group, which the
    service account may not read (slapd's memberof overlay keeps the attribute here)."""
    group = f"cn=operateurs-ad,{HIDDEN}"
    with Connection(Server(slapd.url), ROOT_DN, ROOT_PASSWORD, auto_bind=True) as root:
        root.add(HIDDEN, "organizationalUnit", {"ou": "hidden"})
        root.add(
            group, "groupOfNames", {"cn": "operateurs-ad", "member": f"uid=paul.compta,{PEOPLE}"}
        )
    with Connection(Server(slapd.url), SERVICE_DN, SERVICE_PASSWORD, auto_bind=True) as service:
        assert not service.search(group, "(objectClass=*)", BASE)  # the group: out of reach
        service.search(
            f"uid=paul.compta,{PEOPLE}", "(objectClass=*)", BASE, attributes=["memberOf"]
        )
        assert service.entries[0].memberOf.values == [group]

    operator = Directory(settings_for(slapd.url, operator_group=group)).authenticate(
        "paul.compta", PASSWORD
    )

    assert operator.role is OperatorRole.OPERATOR


def counted(settings: Ldap) -> tuple[Directory, list[str | None]]:
    """A directory whose connections (to the real server) are counted, by the DN they bind."""
    opened: list[str | None] = []
    network = network_connector(settings)

    def connect(dn, password):
        opened.append(dn)
        return network(dn, password)

    return Directory(settings, connect), opened


def test_the_service_connection_is_pooled_across_sign_ins(slapd):
    directory, opened = counted(settings_for(slapd.url))

    for login in ("sophie.support", "remi.lecteur", "sophie.support"):
        directory.authenticate(login, PASSWORD)

    assert opened.count(SERVICE_DN) == 1
    assert len(opened) == 4  # the service once, each person's own bind


def test_a_pooled_connection_the_directory_dropped_is_replaced_on_the_next_sign_in(slapd):
    directory, opened = counted(settings_for(slapd.url))
    directory.authenticate("sophie.support", PASSWORD)

    slapd.restart()
    operator = directory.authenticate("sophie.support", PASSWORD)

    assert operator.role is OperatorRole.OPERATOR
    assert opened.count(SERVICE_DN) == 2


def test_a_reader_signs_in_and_may_only_see(directory):
    reader = directory.authenticate("remi.lecteur", PASSWORD)

    assert (reader.name, reader.role, reader.can_act) == (
        "Rémi Lecteur",
        OperatorRole.READER,
        False,
    )


@pytest.mark.parametrize(
    ("login", "password"),
    [
        ("paul.compta", PASSWORD),  # in the directory, in no support group
        ("sophie.support", "pas-le-bon"),  # wrong password
        ("personne", PASSWORD),  # not in the directory
        ("*)(uid=*", PASSWORD),  # LDAP injection: the filter is escaped, it finds nobody
        ("sophie*", PASSWORD),  # a wildcard is a character, not a pattern
        ("sophie.support", ""),  # an empty password would be an anonymous bind (RFC 4513)
        ("", PASSWORD),
        ("sophie.support\x00", PASSWORD),
    ],
)
def test_every_failure_is_the_same_refusal(directory, login, password):
    with pytest.raises(DirectoryRefused) as refused:
        directory.authenticate(login, password)

    assert refused.value.message == DirectoryRefused.message
    assert refused.value.status == 401


def test_a_directory_that_is_down_is_a_french_message_not_a_crash(slapd):
    directory = Directory(settings_for(slapd.url))
    slapd.stop()

    with pytest.raises(DirectoryUnavailable) as unavailable:
        directory.authenticate("sophie.support", PASSWORD)

    assert "L'annuaire de l'organisation ne répond pas" in unavailable.value.message
    assert unavailable.value.status == 503


def test_a_directory_nobody_listens_on_is_unavailable():
    directory = Directory(settings_for(f"ldap://127.0.0.1:{closed_port()}", timeout=1.0))

    with pytest.raises(DirectoryUnavailable):
        directory.authenticate("sophie.support", PASSWORD)


def test_a_refused_service_account_is_unavailable_not_a_refusal_of_the_person(slapd):
    directory = Directory(settings_for(slapd.url, bind_password="plus-le-bon"))

    with pytest.raises(DirectoryUnavailable):
        directory.authenticate("sophie.support", PASSWORD)


def test_starttls_with_the_directory_s_own_authority(tls_slapd):
    slapd, certificate = tls_slapd
    trusted = Directory(settings_for(slapd.url, starttls=True, ca_file=str(certificate.cert_file)))

    assert trusted.authenticate("sophie.support", PASSWORD).role is OperatorRole.OPERATOR


def test_starttls_refuses_a_certificate_it_cannot_verify(tls_slapd):
    """Without the directory's authority the certificate is unknown: no password is sent."""
    slapd, _ = tls_slapd
    untrusting = Directory(settings_for(slapd.url, starttls=True))

    with pytest.raises(DirectoryUnavailable):
        untrusting.authenticate("sophie.support", PASSWORD)


def test_the_demo_directory_holds_the_demo_operators_by_the_same_path():
    """DESIGN.md §4: `sophie.support` (operator) and `remi.lecteur` (reader), the demo's
    password; `make run` needs no directory server."""
    directory = demo_directory()

    assert directory.authenticate("sophie.support", DEMO_PASSWORD).role is OperatorRole.OPERATOR
    assert directory.authenticate("remi.lecteur", DEMO_PASSWORD).role is OperatorRole.READER
    for login, password in [("sophie.support", "x"), ("*)(uid=*", DEMO_PASSWORD)]:
        with pytest.raises(DirectoryRefused):
            directory.authenticate(login, password)


def test_the_directory_is_configured_by_hub_ldap_variables():
    settings = Settings.from_env(
        {
            "HUB_LDAP_URL": "ldaps://annuaire.cdc.example:636",
            "HUB_LDAP_USER_BASE": "ou=people,dc=cdc,dc=example",
            "HUB_LDAP_OPERATOR_GROUP": "cn=support,ou=groups,dc=cdc,dc=example",
            "HUB_LDAP_READER_GROUP": "cn=lecteurs,ou=groups,dc=cdc,dc=example",
            "HUB_LDAP_BIND_DN": "cn=hub,ou=services,dc=cdc,dc=example",
            "HUB_LDAP_BIND_PASSWORD": "secret",
            "HUB_LDAP_USER_FILTER": "(sAMAccountName={login})",
            "HUB_LDAP_STARTTLS": "false",
            "HUB_LDAP_CA_FILE": "/etc/ssl/cdc-ca.pem",
            "HUB_LDAP_TIMEOUT": "3",
        }
    )

    assert settings.ldap == Ldap(
        url="ldaps://annuaire.cdc.example:636",
        user_base="ou=people,dc=cdc,dc=example",
        operator_group="cn=support,ou=groups,dc=cdc,dc=example",
        reader_group="cn=lecteurs,ou=groups,dc=cdc,dc=example",
        bind_dn="cn=hub,ou=services,dc=cdc,dc=example",
        bind_password="secret",
        user_filter="(sAMAccountName={login})",
        ca_file="/etc/ssl/cdc-ca.pem",
        timeout=3.0,
    )
    assert Settings.from_env({}).ldap is None
