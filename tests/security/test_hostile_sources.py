"""Hostile sources: a site that tries to hold, flood or trick a poll.

Every case runs against the local fixture server (tests/sites) on 127.0.0.1.
"""

from __future__ import annotations

import time

import pytest

from news.errors import FetchError
from news.fetch import Fetcher, make_session
from tests.sites.server import SiteServer


def test_an_endless_one_byte_drip_ends_at_the_wall_clock_deadline(site_server: SiteServer) -> None:
    """A byte every 50 ms never trips the per-read timeout; the total deadline must."""
    fetcher = Fetcher(
        make_session(retries=0), timeout=(2.0, 2.0), max_seconds=1.0, respect_robots=False
    )
    started = time.monotonic()
    with pytest.raises(FetchError, match="longer than 1s"):
        fetcher.get(site_server.base_url + "/fault/endless-drip")
    # The deadline, plus at most one read timeout of slack; never the endless drip.
    assert time.monotonic() - started < 1.0 + 2.0


def test_a_silent_server_is_cut_at_the_deadline_not_the_read_timeout(
    site_server: SiteServer,
) -> None:
    """Headers then nothing: the remaining deadline, not the 20 s read timeout, bounds the wait."""
    fetcher = Fetcher(
        make_session(retries=0), timeout=(2.0, 30.0), max_seconds=1.0, respect_robots=False
    )
    site_server.drip_interval = 10.0  # first byte would come after 10 s
    started = time.monotonic()
    with pytest.raises(FetchError, match="longer than 1s"):
        fetcher.get(site_server.base_url + "/fault/endless-drip")
    assert time.monotonic() - started < 3.0
