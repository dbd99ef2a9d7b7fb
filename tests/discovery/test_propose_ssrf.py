"""add-source's SSRF rule: any host, public addresses only, except hosts in allowed_hosts.

Name resolution is injected, so refused private addresses are never connected to.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings
from news.ssrf import HostNotAllowed, HostPolicy, check_url
from tests.discovery.sites import loopback_settings, propose
from tests.sites.server import SiteServer

DNS = {
    "news.example": ["93.184.216.34"],
    "intranet.example": ["10.0.0.5"],
    "portal.intranet.example": ["192.168.1.20"],
    "metadata.example": ["169.254.169.254"],
    "mixed.example": ["93.184.216.34", "127.0.0.1"],
    "mapped.example": ["::ffff:10.0.0.1"],
}


def resolve(host: str, port: int) -> list[str]:
    return DNS[host]


@pytest.fixture(scope="module")
def server() -> Iterator[SiteServer]:
    with SiteServer() as site:
        yield site


def test_any_public_host_may_be_named(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    policy = HostPolicy.for_add_source(settings)
    assert check_url("https://news.example/tin/", policy, resolve=resolve) == ["93.184.216.34"]
    with pytest.raises(HostNotAllowed, match="neither a configured source"):
        check_url("https://news.example/tin/", settings, resolve=resolve)  # /post's rule


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://intranet.example/", "private"),
        ("http://metadata.example/latest/meta-data/", "link-local"),
        ("http://mixed.example/", "loopback"),
        ("http://mapped.example/", "private"),
        ("http://127.0.0.1:9/", "loopback"),
        ("http://2130706433:9/", "loopback"),
        ("http://[::1]:9/", "loopback"),
        ("file:///etc/passwd", "only http"),
    ],
)
def test_private_addresses_are_refused_before_any_request(
    url: str, reason: str, tmp_path: Path
) -> None:
    with pytest.raises(HostNotAllowed, match=reason) as refused:
        propose(url, Settings(data_dir=tmp_path), resolve=resolve)
    if "://" in url and not url.startswith("file"):
        assert "allowed_hosts" in refused.value.reason or "http" in refused.value.reason


def test_allowed_hosts_may_be_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, allowed_hosts=["intranet.example", "*.intranet.example"])
    policy = HostPolicy.for_add_source(settings)
    assert check_url("http://intranet.example/", policy, resolve=resolve) == ["10.0.0.5"]
    assert check_url("http://portal.intranet.example/", policy, resolve=resolve)
    with pytest.raises(HostNotAllowed, match="link-local"):
        check_url("http://metadata.example/", policy, resolve=resolve)


def test_the_loopback_test_server_needs_allowed_hosts(server: SiteServer, tmp_path: Path) -> None:
    url = server.url_for("http://portal.test/")
    with pytest.raises(HostNotAllowed, match="loopback"):
        propose(url, Settings(data_dir=tmp_path))
    assert server.hits(url) == 0
    assert propose(url, loopback_settings(tmp_path)).ok


def test_a_redirect_to_a_private_host_is_an_attempt_not_a_request(
    server: SiteServer, tmp_path: Path
) -> None:
    sitemap = "http://portal.test/sitemap.xml"
    server.set_redirect(sitemap, "http://intranet.example/sitemap.xml")
    try:
        proposal = propose(
            server.url_for("http://portal.test/"), loopback_settings(tmp_path), resolve=resolve
        )
    finally:
        server.set_redirect(sitemap, None)
    assert proposal.ok  # the listing still works
    refused = [a for a in proposal.attempts if a.outcome.startswith("refused:")]
    assert refused and "10.0.0.5" in refused[0].outcome, "\n".join(map(str, proposal.attempts))
