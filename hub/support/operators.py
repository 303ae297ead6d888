"""A support operator as the directory knows them (R11), and the limits of what a sign-in
may send: what the console and the support sessions need, without the directory's client
(`hub.support.directory`, which loads ldap3: web workers load it only when the console first
asks the directory)."""

from __future__ import annotations

from dataclasses import dataclass

from hub.support.models import OperatorRole

LOGIN_MAX = 128
PASSWORD_MAX = 1024


@dataclass(frozen=True)
class Operator:
    """A support operator as the directory knows them, for one sign-in."""

    login: str
    name: str
    dn: str
    role: OperatorRole

    @property
    def can_act(self) -> bool:
        return self.role.can_act
