"""pytest fixture for the corpus server.

Register with ``pytest_plugins = ["tests.sites.fixtures"]`` in the root conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sites.server import SiteServer
from tests.sites.slug_portal import SlugArticle, SlugPortal


@pytest.fixture
def site_server() -> Iterator[SiteServer]:
    """A started SiteServer with short fault delays, stopped after the test."""
    server = SiteServer(timeout_sleep=3.0, drip_interval=0.05)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def slug_portal(site_server: SiteServer) -> SlugPortal:
    """Three stories on a portal whose article URLs follow their titles."""
    return SlugPortal(
        site_server,
        [
            SlugArticle(101, "Hội nghị tổng kết công tác tuyên giáo năm 2023"),
            SlugArticle(102, "Khánh thành cầu dân sinh nối hai xã miền núi", category="Xã hội"),
            SlugArticle(103, "Tỉnh đón hơn một triệu lượt khách du lịch dịp Tết"),
        ],
    )
