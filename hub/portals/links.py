"""Addresses of portal pages that the hub's mails point to.

The paths are the portals' side of a contract (`portals/kit/admin/`): a mail written today is
read in days, so a path changes only with a redirect from the old one.
"""

from __future__ import annotations

from urllib.parse import urlencode

from hub.portals.models import Portal
from hub.structures.models import Structure

MANAGE_ACCOUNTS_PATH = "/administration/comptes"


def manage_accounts_url(on: Portal, *, portal: Portal, structure: Structure) -> str:
    """« Gérer les comptes existants » on portal `on`, filtered on the accounts of `structure`
    on `portal`: the same portal for a direct admin, the delegating one for an admin by R9
    (SOLTÉA's administration lists Certificateurs accounts under its portal filter)."""
    query = urlencode({"portail": portal.code, "structure": structure.matricule})
    return f"{on.base_url.rstrip('/')}{MANAGE_ACCOUNTS_PATH}?{query}"
