"""Support operators sign in from the organisation's LDAP directory (R11), never from the hub's
own people: the hub stores no operator password and no operator row.

A sign-in searches the person with the service account (`Ldap.user_filter`, the identifiant
escaped as RFC 4515 says, so that `*)(uid=*` finds nobody), binds as the person found to check
the password, then reads the role from the directory's groups (`groupOfNames`: the group's
`member`, or the person's `memberOf`). Operators act; readers only see. Whatever fails answers
one refusal (`DirectoryRefused`), so that the console tells nothing of who is in the directory;
a directory that does not answer is `DirectoryUnavailable`, never a 500.

An empty password is refused before the directory is asked: LDAP reads a simple bind without a
password as an anonymous bind (RFC 4513 §5.1.2), which succeeds.

The demo needs no directory server: `demo_directory` is ldap3's offline mock loaded with the
demo's two operators (DESIGN.md §4), reached by the same code path.

What the console needs without talking to the directory (`Operator`, the limits) is in
`hub.support.operators`: web workers import this module, and ldap3 with it, only when the
console first asks the directory (`idp.support.access.directory`), which most workers never do.
"""

from __future__ import annotations

import contextlib
import math
import ssl
import threading
from collections.abc import Callable

from ldap3 import (
    BASE,
    MOCK_SYNC,
    NONE,
    OFFLINE_SLAPD_2_4,
    SUBTREE,
    Connection,
    Server,
    Tls,
)
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from hub.config import Ldap
from hub.errors import DirectoryRefused, DirectoryUnavailable
from hub.support.models import OperatorRole
from hub.support.operators import LOGIN_MAX, PASSWORD_MAX, Operator

# Result codes of a search that answered (RFC 4511 §4.1.9): success, size limit exceeded (an
# ambiguous filter), no such object. Any other is the directory failing, not a refusal.
ANSWERED = frozenset({0, 4, 32})
POOL_SIZE = 4  # idle service connections kept for the next sign-ins
ATTRIBUTES = ["displayName", "cn", "memberOf"]


Connect = Callable[[str | None, str | None], Connection]


class Directory:
    """The directory of `settings`; `connect` opens an unbound connection as (dn, password).

    The service account's connections are pooled: bound once, kept (at most `POOL_SIZE` idle)
    and reused by later sign-ins, so that a sign-in costs the search and the person's bind, not
    a new connection, TLS handshake and service bind each time. A pooled connection the
    directory has dropped meanwhile (restart, idle timeout) fails on use: the sign-in then runs
    once more on a new one. The person's own bind always has a connection of its own.
    """

    def __init__(self, settings: Ldap, connect: Connect | None = None) -> None:
        self.settings = settings
        self._connect = connect or network_connector(settings)
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    def authenticate(self, login: str, password: str) -> Operator:
        """The operator `login` is, when `password` is theirs and they belong to a support
        group; otherwise `DirectoryRefused` (`DirectoryUnavailable` when the directory fails)."""
        if not _plausible(login, LOGIN_MAX) or not _plausible(password, PASSWORD_MAX):
            raise DirectoryRefused()

        try:
            return self._authenticate(login, password)
        except LDAPException as error:
            raise DirectoryUnavailable() from error

    def _authenticate(self, login: str, password: str) -> Operator:
        service, reused = self._take()
        try:
            return self._using(service, login, password)
        except LDAPException:
            if not reused:
                raise
        # The pooled connection was stale (a restart, an idle timeout): once more on a new one.
        service, _ = self._take(fresh=True)
        return self._using(service, login, password)

    def _using(self, service: Connection, login: str, password: str) -> Operator:
        """`_as_service` on `service`, which then goes back to the pool, unless the directory
        failed on it."""
        try:
            operator = self._as_service(service, login, password)
        except LDAPException:
            _close(service)
            raise
        except BaseException:
            self._give_back(service)
            raise
        self._give_back(service)
        return operator

    def _take(self, *, fresh: bool = False) -> tuple[Connection, bool]:
        """A bound service connection, and whether it comes from the pool."""
        if not fresh:
            with self._lock:
                if self._idle:
                    return self._idle.pop(), True
        return self._bound(self.settings.bind_dn, self.settings.bind_password), False

    def _give_back(self, connection: Connection) -> None:
        with self._lock:
            if len(self._idle) < POOL_SIZE:
                self._idle.append(connection)
                return
        _close(connection)

    def _as_service(self, service: Connection, login: str, password: str) -> Operator:
        """Searches the person, checks the password by their own bind, reads the role."""
        query = self.settings.user_filter.format(login=escape_filter_chars(login))
        found = service.search(
            self.settings.user_base, query, SUBTREE, attributes=ATTRIBUTES, size_limit=2
        )
        if not found and service.result.get("result") not in ANSWERED:
            raise LDAPException(f"search failed: {service.result.get('description')}")
        if len(service.entries) != 1:  # nobody, or an ambiguous filter
            raise DirectoryRefused()
        entry = service.entries[0]
        person = self._connect(entry.entry_dn, password)
        try:
            if not person.bind():
                raise DirectoryRefused()
        finally:
            person.unbind()
        role = self._role(service, entry.entry_dn, _values(entry, "memberOf"))
        name = (_values(entry, "displayName") or _values(entry, "cn") or [login])[0]
        return Operator(login=login, name=name, dn=entry.entry_dn, role=role)

    def _bound(self, dn: str | None, password: str | None) -> Connection:
        connection = self._connect(dn, password)
        if not connection.bind():
            connection.unbind()
            raise DirectoryUnavailable()  # the service account itself is refused: configuration
        return connection

    def _role(self, service: Connection, dn: str, member_of: list[str]) -> OperatorRole:
        """Operators first: a person in both groups acts."""
        for group, role in (
            (self.settings.operator_group, OperatorRole.OPERATOR),
            (self.settings.reader_group, OperatorRole.READER),
        ):
            if group and _is_member(service, group, dn, member_of):
                return role
        raise DirectoryRefused()


def _close(connection: Connection) -> None:
    with contextlib.suppress(LDAPException):
        connection.unbind()


def _is_member(service: Connection, group: str, dn: str, member_of: list[str]) -> bool:
    if group.lower() in {value.lower() for value in member_of}:
        return True
    member = f"(member={escape_filter_chars(dn)})"
    return bool(service.search(group, member, BASE, attributes=[])) and bool(service.entries)


def _values(entry: object, attribute: str) -> list[str]:
    if attribute not in getattr(entry, "entry_attributes", ()):
        return []
    return [str(value) for value in getattr(entry, attribute).values]


def _plausible(value: str, limit: int) -> bool:
    return 0 < len(value) <= limit and value.isprintable()


def network_connector(settings: Ldap) -> Connect:
    """Connections to the configured server: TLS verified (against `ca_file` when set),
    StartTLS before any bind when asked, every wait bounded by `timeout`."""
    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=settings.ca_file)
    server = Server(
        settings.url,
        use_ssl=settings.url.lower().startswith("ldaps://"),
        tls=tls,
        get_info=NONE,
        connect_timeout=settings.timeout,
    )

    def connect(dn: str | None, password: str | None) -> Connection:
        connection = Connection(
            server,
            user=dn,
            password=password,
            receive_timeout=max(1, math.ceil(settings.timeout)),  # ldap3 packs whole seconds
            raise_exceptions=False,
        )
        connection.open()
        if settings.starttls and not connection.start_tls():
            raise DirectoryUnavailable()
        return connection

    return connect


# The demo's embedded directory (DESIGN.md §4): ldap3's offline mock, the same code path.
DEMO_PASSWORD = "Demo-Password-2026!"  # noqa: S105 - the demo's, published in DESIGN.md
DEMO_SUFFIX = "dc=demo,dc=cdc"
DEMO_SETTINGS = Ldap(
    url="ldap://demo-directory",
    user_base=f"ou=people,{DEMO_SUFFIX}",
    operator_group=f"cn=support-operateurs,ou=groups,{DEMO_SUFFIX}",
    reader_group=f"cn=support-lecteurs,ou=groups,{DEMO_SUFFIX}",
    bind_dn=f"cn=hub,ou=services,{DEMO_SUFFIX}",
    bind_password="demo-service",  # noqa: S106
)
DEMO_OPERATORS = (
    ("sophie.support", "Sophie", "Bernard", DEMO_SETTINGS.operator_group),
    ("remi.lecteur", "Rémi", "Lecteur", DEMO_SETTINGS.reader_group),
)


def demo_directory() -> Directory:
    """The demo's operators in an in-memory directory: `sophie.support` (operator) and
    `remi.lecteur` (reader), password `DEMO_PASSWORD`."""
    server = Server("demo-directory", get_info=OFFLINE_SLAPD_2_4)

    def connect(dn: str | None, password: str | None) -> Connection:
        return Connection(server, user=dn, password=password, client_strategy=MOCK_SYNC)

    loader = connect(None, None)
    loader.strategy.add_entry(
        DEMO_SETTINGS.bind_dn,
        {"objectClass": ["organizationalRole"], "userPassword": DEMO_SETTINGS.bind_password},
    )
    groups: dict[str, list[str]] = {}
    for login, given, family, group in DEMO_OPERATORS:
        dn = f"uid={login},{DEMO_SETTINGS.user_base}"
        loader.strategy.add_entry(
            dn,
            {
                "objectClass": ["inetOrgPerson"],
                "uid": login,
                "cn": f"{given} {family}",
                "displayName": f"{given} {family}",
                "sn": family,
                "userPassword": DEMO_PASSWORD,
            },
        )
        groups.setdefault(group, []).append(dn)
    for group, members in groups.items():
        loader.strategy.add_entry(group, {"objectClass": ["groupOfNames"], "member": members})
    return Directory(DEMO_SETTINGS, connect)
