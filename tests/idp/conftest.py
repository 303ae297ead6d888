"""Fixtures shared by every test of the identity provider."""

from __future__ import annotations

import pytest

from idp.oidc.signing import key_ring


@pytest.fixture(autouse=True)
def fresh_key_ring():
    """The key ring caches keys per process; every test starts from its own database's."""
    key_ring.reload()
    yield
    key_ring.reload()
