"""The SSRF guard: hosts from outside the config, private addresses, every redirect hop.

Address checks resolve through an injected resolver and never connect: the
private addresses below are only ever looked at. The fetches go to loopback
servers only (a configured source on 127.0.0.1; 127.0.0.2 and 127.0.0.3 are
refused before any connection).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from config.loader import load_settings
from config.settings import Settings
from news.errors import EditorialError, FetchError
from news.ssrf import HostNotAllowed, check_url, literal_ip, refusal, safe_fetcher

PUBLIC = "93.184.216.34"


def settings_with(*, sources: Sequence[str] = (), allowed: Sequence[str] = ()) -> Settings:
    env = {"LOA_ALLOWED_HOSTS": ",".join(allowed)}
    if sources:
        env["LOA_SOURCES"] = (
            "["
            + ",".join(f'{{"name": "s{n}", "url": "{url}"}}' for n, url in enumerate(sources))
            + "]"
        )
    return load_settings(None, environ=env)


class Resolver:
    """Answers from a table and records what was asked; never touches the network."""

    def __init__(self, table: dict[str, list[str]]):
        self.table = table
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if host not in self.table:
            raise FetchError(f"cannot resolve {host}")
        return self.table[host]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://127.0.0.1:8080/admin", "127.0.0.1 is a loopback address"),
        ("http://2130706433/", "127.0.0.1 is a loopback address"),
        ("http://0177.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://0x7f.1/", "127.0.0.1 is a loopback address"),
        ("http://[::ffff:10.0.0.1]/", "is a private address"),
        ("http://0.0.0.0/", "0.0.0.0 is a unspecified address"),
        ("http://[fe80::1]/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://100.64.0.1/", "non-public"),
    ],
)
def test_private_literal_addresses_are_refused_without_resolving(
    url: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    host = urlsplit(url).hostname or ""
    resolver = Resolver({})
    with caplog.at_level(logging.WARNING, logger="news.ssrf"):
        with pytest.raises(HostNotAllowed, match=reason) as info:
            check_url(url, settings_with(allowed=[host]), resolve=resolver)
    assert resolver.asked == []
    assert isinstance(info.value, EditorialError)
    assert "only a configured source may live there" in str(info.value)
    assert any("SSRF guard" in r.getMessage() for r in caplog.records)


def test_a_name_resolving_to_a_private_address_is_refused() -> None:
    settings = settings_with(allowed=["intranet.example"])
    resolver = Resolver({"intranet.example": [PUBLIC, "10.1.2.3"]})
    with pytest.raises(HostNotAllowed, match=r"intranet.example \(10.1.2.3\) is a private"):
        check_url("https://intranet.example/page", settings, resolve=resolver)
    assert resolver.asked == [("intranet.example", 443)]


def test_a_public_allowed_host_passes_with_its_addresses() -> None:
    settings = settings_with(allowed=["news.example", "*.cdn.example"])
    resolver = Resolver({"news.example": [PUBLIC], "img.cdn.example": ["2001:4860:4860::8888"]})
    assert check_url("http://news.example/a", settings, resolve=resolver) == [PUBLIC]
    assert check_url("https://img.cdn.example/b.jpg", settings, resolve=resolver) == [
        "2001:4860:4860::8888"
    ]
    with pytest.raises(HostNotAllowed, match="neither a configured source's host"):
        check_url("https://cdn.example/", settings, resolve=resolver)


@pytest.mark.parametrize(
    "url",
    ["http://elsewhere.example/", "https://news.example.evil.test/", "http://news.example@evil/"],
)
def test_hosts_outside_the_config_are_refused_before_resolving(url: str) -> None:
    settings = settings_with(sources=["https://news.example/tin-tuc/"])
    resolver = Resolver({})
    with pytest.raises(HostNotAllowed, match="neither a configured source's host"):
        check_url(url, settings, resolve=resolver)
    assert resolver.asked == []


@pytest.mark.parametrize("url", ["ftp://news.example/", "file:///etc/passwd", "http:///x", "//x"])
def test_only_http_urls_with_a_host(url: str) -> None:
    with pytest.raises(HostNotAllowed, match="only http"):
        check_url(url, settings_with(allowed=["news.example"]), resolve=Resolver({}))


def test_a_source_host_and_its_www_twin_are_allowed() -> None:
    settings = settings_with(sources=["https://baotinh.example/tin-tuc/"])
    resolver = Resolver({"www.baotinh.example": [PUBLIC], "baotinh.example": [PUBLIC]})
    check_url("https://www.baotinh.example/a.html", settings, resolve=resolver)
    check_url("http://baotinh.example/b.html", settings, resolve=resolver)


def test_a_configured_source_may_live_on_a_private_address_at_its_port_only() -> None:
    settings = settings_with(sources=["http://portal.lan:8080/", "http://10.0.0.7/"])
    resolver = Resolver({"portal.lan": ["192.168.1.20"]})
    assert check_url("http://portal.lan:8080/tin/1.html", settings, resolve=resolver) == [
        "192.168.1.20"
    ]
    assert check_url("http://10.0.0.7/tin/2.html", settings, resolve=resolver) == ["10.0.0.7"]
    with pytest.raises(HostNotAllowed, match="private"):
        check_url("http://portal.lan:22/", settings, resolve=resolver)
    with pytest.raises(HostNotAllowed, match="private"):
        check_url("https://10.0.0.7/", settings, resolve=resolver)  # port 443, not the source's


def test_numeric_spellings_read_as_the_address_they_spell() -> None:
    assert literal_ip("2130706433") == ipaddress.ip_address("127.0.0.1")
    assert literal_ip("0177.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_ip("0x7f.0.0.1") == ipaddress.ip_address("127.0.0.1")
    assert literal_ip("10.1") == ipaddress.ip_address("10.0.0.1")
    assert literal_ip("[::1]") == ipaddress.ip_address("::1")
    assert literal_ip("news.example") is None
    assert literal_ip("0xnews.example") is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("::ffff:8.8.8.8", None),
        ("::ffff:127.0.0.1", "loopback"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("240.0.0.1", "private"),
        ("192.0.2.1", "private"),
    ],
)
def test_refusal_reasons(address: str, reason: str | None) -> None:
    assert refusal(ipaddress.ip_address(address)) == reason


# ---------------------------------------------------------------- real fetches on loopback


class _Site(BaseHTTPRequestHandler):
    """/page: an article page; /hop/N: redirect N more times then /page; /away: to 127.0.0.3."""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        port = self.server.server_address[1]
        if self.path == "/page":
            body = b"<html><body><p>ok</p></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if self.path.startswith("/hop/"):
            left = int(self.path.rsplit("/", 1)[1])
            target = "/page" if left == 0 else f"/hop/{left - 1}"
        elif self.path == "/away":
            target = f"http://127.0.0.3:{port}/page"
        elif self.path == "/decimal":
            target = f"http://2130706433:{port + 1}/page"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(302)
        self.send_header("Location", target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_configured_source_on_loopback_is_fetched_through_redirects(site: str) -> None:
    fetcher = safe_fetcher(settings_with(sources=[f"{site}/"]), respect_robots=False)
    page = fetcher.get(f"{site}/hop/2")
    assert page.url == f"{site}/page"
    assert b"ok" in page.content


def test_more_than_five_redirects_are_refused(site: str) -> None:
    fetcher = safe_fetcher(settings_with(sources=[f"{site}/"]), respect_robots=False)
    fetcher.get(f"{site}/hop/4")  # 5 redirects: fine
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetcher.get(f"{site}/hop/5")


def test_another_loopback_address_is_refused(site: str) -> None:
    port = site.rsplit(":", 1)[1]
    for allowed in ([], ["127.0.0.2"]):
        settings = settings_with(sources=[f"{site}/"], allowed=allowed)
        with pytest.raises(HostNotAllowed, match="127.0.0.2"):
            safe_fetcher(settings, respect_robots=False).get(f"http://127.0.0.2:{port}/page")


@pytest.mark.parametrize("allowed", [[], ["127.0.0.3"]])
def test_a_redirect_to_another_loopback_address_is_refused(site: str, allowed: list[str]) -> None:
    settings = settings_with(sources=[f"{site}/"], allowed=allowed)
    with pytest.raises(HostNotAllowed, match="127.0.0.3"):
        safe_fetcher(settings, respect_robots=False).get(f"{site}/away")


def test_a_redirect_to_a_numeric_spelling_of_loopback_is_refused(site: str) -> None:
    settings = settings_with(sources=[f"{site}/"], allowed=["2130706433"])
    with pytest.raises(HostNotAllowed, match="127.0.0.1 is a loopback address"):
        safe_fetcher(settings, respect_robots=False).get(f"{site}/decimal")


def test_the_connection_itself_is_checked_against_rebinding(site: str) -> None:
    """A name that passed the hop check but resolves elsewhere at connect time is refused."""
    port = int(site.rsplit(":", 1)[1])
    answers = iter([[PUBLIC], ["127.0.0.1"]])  # public for the check, loopback a moment later

    def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    settings = settings_with(allowed=["rebind.example"])
    fetcher = safe_fetcher(settings, resolve=rebinding, respect_robots=False)
    with pytest.raises(HostNotAllowed, match=r"rebind.example \(127.0.0.1\) is a loopback"):
        fetcher.get(f"http://rebind.example:{port}/page")
