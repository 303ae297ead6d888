"""End-to-end fixtures: the three apps on loopback, on each hub database backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.browser import Browser
from tests.e2e.servers import Apps, three_apps


@pytest.fixture
def apps(settings, session_factory, demo, tmp_path) -> Iterator[Apps]:
    with three_apps(settings, session_factory, tmp_path / "portals") as running:
        yield running


@pytest.fixture
def browser() -> Browser:
    return Browser()
