"""pytest fixture for the corpus server.

Register with ``pytest_plugins = ["tests.sites.fixtures"]`` in the root conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sites.server import SiteServer


@pytest.fixture
def site_server() -> Iterator[SiteServer]:
    """A started SiteServer with short fault delays, stopped after the test."""
    server = SiteServer(timeout_sleep=3.0, drip_interval=0.05)
    server.start()
    try:
        yield server
    finally:
        server.stop()
