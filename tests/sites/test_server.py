"""The corpus server behaves as documented: mapping, validators, control API, faults."""

from __future__ import annotations

import time
import urllib.robotparser
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from news.extract import BUILTIN_PROFILES
from news.extract.profiles import extract_with_profile
from tests.sites.faults import PNG_1X1
from tests.sites.server import CORPUS_LAST_MODIFIED, SiteServer, load_index

INDEX = load_index()
ARTICLE = next(e for e in INDEX if e["profile"] == "news-modern" and e["kind"] == "article")


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["User-Agent"] = "LoaTest/1.0"
        yield session


def test_url_mapping_round_trips(site_server: SiteServer) -> None:
    served = site_server.url_for("http://portal.test/tin-tuc/a-1.html?x=1")
    assert served == f"{site_server.base_url}/portal.test/tin-tuc/a-1.html?x=1"
    assert site_server.corpus_url(served) == "http://portal.test/tin-tuc/a-1.html?x=1"
    assert site_server.corpus_url("https://example.com/") == "https://example.com/"


def test_links_are_rewritten_to_the_server(site_server: SiteServer, http: requests.Session) -> None:
    body = http.get(site_server.url_for("http://cinet.test/"), timeout=5).text
    assert 'href="/cinet.test/thoi-su/' in body
    assert f"{site_server.base_url}/www.cinet.test/xa-hoi/" in body
    assert "https://quangcao.example/khuyen-mai" in body  # other hosts stay as they are


@pytest.mark.parametrize(
    ("kind", "mime"),
    [
        ("article", "text/html"),
        ("rss", "application/rss+xml"),
        ("atom", "application/atom+xml"),
        ("sitemap", "application/xml"),
    ],
)
def test_content_types(
    site_server: SiteServer, http: requests.Session, kind: str, mime: str
) -> None:
    entry = next(e for e in INDEX if e["kind"] == kind)
    response = http.get(site_server.url_for(entry["url"]), timeout=5)
    assert response.headers["Content-Type"] == f"{mime}; charset={entry['charset']}"


def test_wrong_header_charset_page(site_server: SiteServer, http: requests.Session) -> None:
    entry = next(e for e in INDEX if e.get("served_charset"))
    response = http.get(site_server.url_for(entry["url"]), timeout=5)
    assert response.headers["Content-Type"].endswith("charset=utf-8")
    assert b"charset=windows-1258" in response.content
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")


def test_conditional_requests_get_304(site_server: SiteServer, http: requests.Session) -> None:
    url = site_server.url_for(ARTICLE["url"])
    first = http.get(url, timeout=5)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert last_modified == CORPUS_LAST_MODIFIED
    again = http.get(url, headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
    assert http.get(url, headers={"If-Modified-Since": last_modified}, timeout=5).status_code == 304
    old = "Sun, 12 Mar 2023 10:00:00 GMT"
    assert http.get(url, headers={"If-Modified-Since": old}, timeout=5).status_code == 200
    stale = {"If-None-Match": '"other"', "If-Modified-Since": last_modified}
    assert http.get(url, headers=stale, timeout=5).status_code == 200  # ETag wins
    assert site_server.hits(ARTICLE["url"]) == 5


def test_hits_count_all_variants_and_headers_are_recorded(
    site_server: SiteServer, http: requests.Session
) -> None:
    url = ARTICLE["url"]
    http.get(site_server.url_for(url), timeout=5)
    http.get(site_server.url_for(url.replace("://", "://www.") + "?utm_source=x"), timeout=5)
    http.head(site_server.url_for(url), timeout=5)
    assert site_server.hits(url) == 3
    assert site_server.hits(site_server.url_for(url)) == 3
    assert site_server.hits("http://cinet.test/never-asked.html") == 0
    assert site_server.user_agents() == ["LoaTest/1.0"] * 3
    assert [r.method for r in site_server.requests] == ["GET", "GET", "HEAD"]


def test_set_page_and_set_status(site_server: SiteServer, http: requests.Session) -> None:
    url = "http://cinet.test/thoi-su/moi-9999.html"
    served = site_server.url_for(url)
    assert http.get(served, timeout=5).status_code == 404
    site_server.set_page(url, b"<html><body>moi</body></html>")
    response = http.get(served, timeout=5)
    assert response.status_code == 200 and response.content == b"<html><body>moi</body></html>"
    assert "ETag" in response.headers and "Last-Modified" in response.headers
    site_server.set_status(ARTICLE["url"], 410)
    assert http.get(site_server.url_for(ARTICLE["url"]), timeout=5).status_code == 410
    site_server.set_status(ARTICLE["url"], None)
    assert http.get(site_server.url_for(ARTICLE["url"]), timeout=5).status_code == 200


def test_robots_default_allows_all_and_can_be_set(
    site_server: SiteServer, http: requests.Session
) -> None:
    for path in ("/robots.txt", "/cinet.test/robots.txt"):
        robots = urllib.robotparser.RobotFileParser()
        robots.parse(http.get(site_server.base_url + path, timeout=5).text.splitlines())
        assert robots.can_fetch("Loa", site_server.url_for(ARTICLE["url"]))
    site_server.set_robots("User-agent: *\nDisallow: /\n")
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(http.get(site_server.base_url + "/robots.txt", timeout=5).text.splitlines())
    assert not robots.can_fetch("Loa", site_server.url_for(ARTICLE["url"]))


def test_fault_404(site_server: SiteServer, http: requests.Session) -> None:
    assert http.get(site_server.base_url + "/fault/404", timeout=5).status_code == 404


def test_fault_500_then_ok(site_server: SiteServer, http: requests.Session) -> None:
    url = site_server.base_url + "/fault/500-then-ok"
    codes = [http.get(url, timeout=5).status_code for _ in range(3)]
    assert codes == [500, 500, 200]
    tz = ZoneInfo("Asia/Ho_Chi_Minh")
    article = extract_with_profile(
        BUILTIN_PROFILES["cms-portal"],
        http.get(url, timeout=5).content,
        url=url,
        now=datetime(2023, 3, 14, 9, tzinfo=tz),
        tz=tz,
    )
    assert article.title
    assert site_server.hits("/fault/500-then-ok") == 4


def test_fault_timeout_and_stop_interrupts_it(
    site_server: SiteServer, http: requests.Session
) -> None:
    with pytest.raises(requests.Timeout):
        http.get(site_server.base_url + "/fault/timeout", timeout=0.3)
    started = time.monotonic()
    site_server.stop()
    assert time.monotonic() - started < 1.0


def test_fault_slow_drip(site_server: SiteServer, http: requests.Session) -> None:
    started = time.monotonic()
    response = http.get(site_server.base_url + "/fault/slow-drip", timeout=5)
    elapsed = time.monotonic() - started
    assert len(response.content) == 64 * site_server.drip_chunks
    assert elapsed >= site_server.drip_interval * (site_server.drip_chunks - 1) * 0.8


def test_fault_huge_streams_20_mb_without_length(
    site_server: SiteServer, http: requests.Session
) -> None:
    with http.get(site_server.base_url + "/fault/huge", stream=True, timeout=5) as response:
        assert "Content-Length" not in response.headers
        received = 0
        for chunk in response.iter_content(64 * 1024):
            received += len(chunk)
            if received > 1024 * 1024:
                break  # a client with a 1 MB cap gives up here
    with http.get(site_server.base_url + "/fault/huge", timeout=10) as response:
        assert len(response.content) == 20 * 1024 * 1024


def test_fault_invalid_html(site_server: SiteServer, http: requests.Session) -> None:
    response = http.get(site_server.base_url + "/fault/invalid-html", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")


def test_fault_redirect_loop(site_server: SiteServer, http: requests.Session) -> None:
    http.max_redirects = 5
    with pytest.raises(requests.TooManyRedirects):
        http.get(site_server.base_url + "/fault/redirect-loop", timeout=5)


def test_fault_binary(site_server: SiteServer, http: requests.Session) -> None:
    response = http.get(site_server.base_url + "/fault/binary", timeout=5)
    assert response.headers["Content-Type"] == "image/png"
    assert response.content == PNG_1X1


def test_server_is_quiet(capfd: pytest.CaptureFixture[str], http: requests.Session) -> None:
    with SiteServer() as server:
        http.get(server.url_for(ARTICLE["url"]), timeout=5)
        http.get(server.base_url + "/fault/404", timeout=5)
        with http.get(server.base_url + "/fault/huge", stream=True, timeout=5) as response:
            next(response.iter_content(1024))
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
