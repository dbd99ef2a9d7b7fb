"""Feeds over real HTTP (uvicorn on a free port), parsed back and checked field by field."""

from __future__ import annotations

import gzip
import http.client
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import feedparser
import lxml.etree
import lxml.html
import pytest
import requests
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import Settings
from feeds.cache import FRESHNESS_SECONDS, rebuild_all
from feeds.server import create_app
from news.store import get_or_create_source, upsert_article
from tests.conftest import free_port
from tests.helpers import extracted, running_server

ICT = timezone(timedelta(hours=7))
MATTERING = {"content-type", "content-length", "content-encoding", "etag", "last-modified",
             "cache-control", "vary"}  # fmt: skip
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def settings() -> Settings:
    port = free_port()
    return load_settings(None, environ={"LOA_HTTP_PORT": str(port), "LOA_FEED_MAX_AGE": "120"})


@pytest.fixture
def base(settings: Settings, factory: sessionmaker[Session]) -> Iterator[str]:
    with running_server(create_app(settings, factory), settings.http_port) as url:
        yield url


def add(factory: sessionmaker[Session], n: int, **kw: object) -> int:
    article = replace(
        extracted(n, published_at=datetime(2023, 3, 13, 16, n % 60, tzinfo=ICT)), **kw
    )  # type: ignore[arg-type]
    with factory.begin() as session:
        source = get_or_create_source(
            session, name="portal", kind="html", url="http://portal.test/"
        )
        return upsert_article(session, article, source=source).article_id


def get(url: str, **headers: str) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
@pytest.mark.parametrize(
    "path", ["/feeds/all", "/feeds/cong-tac-tuyen-giao", "/feeds/source/portal"]
)
def test_every_feed_parses_back_with_its_fields(
    factory: sessionmaker[Session], settings: Settings, base: str, path: str, fmt: str
) -> None:
    for n in range(3):
        add(factory, n, author="NGUYÊN ĐOAN", body="Đoạn một.\nĐoạn <hai> & ba.")
    add(factory, 9, category="Kinh tế")
    rebuild_all(factory, settings)
    response = get(f"{base}{path}.{fmt}")
    assert response.status_code == 200
    expected_type = {"rss": "application/rss+xml", "atom": "application/atom+xml",
                     "json": "application/feed+json"}[fmt]  # fmt: skip
    assert response.headers["content-type"] == f"{expected_type}; charset=utf-8"
    assert response.headers["cache-control"] == "public, max-age=120"
    count = 4 if path == "/feeds/all" or "source" in path else 3
    if fmt == "json":
        doc = response.json()
        assert doc["version"] == "https://jsonfeed.org/version/1.1"
        assert doc["feed_url"].endswith(f"{path}.json") and doc["language"] == "vi"
        assert len(doc["items"]) == count
        item = next(i for i in doc["items"] if i.get("authors") == [{"name": "NGUYÊN ĐOAN"}])
        assert item["id"].startswith("tag:portal.test,")
        assert item["date_published"].endswith("+07:00")
        assert item["image"].startswith("http://portal.test/images/")
        assert item["authors"] == [{"name": "NGUYÊN ĐOAN"}]
        assert "Đoạn <hai> & ba." in item["content_text"]
        return
    parsed = feedparser.parse(response.content)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.feed.language == "vi"
    assert len(parsed.entries) == count
    entry = next(e for e in parsed.entries if e.get("author") == "NGUYÊN ĐOAN")
    assert entry.id.startswith("tag:portal.test,")
    assert entry.author == "NGUYÊN ĐOAN"
    assert entry.published_parsed is not None
    assert entry.enclosures[0]["href"].startswith("http://portal.test/images/")
    assert entry.enclosures[0]["type"] == "image/jpeg"
    assert "<p>Đoạn &lt;hai&gt; &amp; ba.</p>" in entry.content[0]["value"]
    assert entry.tags[0]["label" if fmt == "atom" else "term"] in (
        "Công tác tuyên giáo", "cong-tac-tuyen-giao",
    )  # fmt: skip
    self_links = [link["href"] for link in parsed.feed.links if link.get("rel") == "self"]
    assert self_links == [f"{settings.base_url}{path}.{fmt}"]
    text = response.text
    if fmt == "rss":
        assert 'isPermaLink="false"' in text and "+0700</pubDate>" in text
        assert "<ttl>15</ttl>" in text
    else:
        root = lxml.etree.fromstring(response.content)
        for required in ("id", "title", "updated"):
            assert root.find(f"{ATOM}{required}") is not None
        for node in root.findall(f"{ATOM}entry"):
            for required in ("id", "title", "updated", "summary", "link"):
                assert node.find(f"{ATOM}{required}") is not None, required
            assert node.find(f"{ATOM}content").get("type") == "html"
            assert node.find(f"{ATOM}updated").text.endswith("+07:00")


def test_hostile_titles_make_well_formed_feeds(
    factory: sessionmaker[Session], settings: Settings, base: str
) -> None:
    nfd = "Tuye\u0302n gia\u0301o"
    add(factory, 1, title="<b>\"A\" & 'B'</b> 🎉 " + nfd + " \x00\x08\x1b end")
    rebuild_all(factory, settings)
    for fmt in ("rss", "atom"):
        content = get(f"{base}/feeds/all.{fmt}").content
        lxml.etree.fromstring(content)  # strict XML parse: raises on any bad byte
        (entry,) = feedparser.parse(content).entries
        assert entry.title.startswith("<b>\"A\" & 'B'</b> 🎉 Tuyên giáo")
        assert "\x00" not in entry.title and entry.title.endswith(" end")
    item = get(f"{base}/feeds/all.json").json()["items"][0]
    assert "\x1b" not in item["title"]


def test_conditional_get_gzip_head_and_updates(
    factory: sessionmaker[Session], settings: Settings, base: str
) -> None:
    article_id = add(factory, 1)
    rebuild_all(factory, settings)
    first = get(f"{base}/feeds/all.rss", **{"Accept-Encoding": "identity"})
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert get(f"{base}/feeds/all.rss", **{"If-None-Match": etag}).status_code == 304
    assert get(f"{base}/feeds/all.rss", **{"If-Modified-Since": modified}).status_code == 304
    raw = requests.get(f"{base}/feeds/all.rss", headers={"Accept-Encoding": "gzip"},
                       timeout=10, stream=True).raw  # fmt: skip
    assert raw.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw.read()) == first.content
    head = requests.head(f"{base}/feeds/all.rss", timeout=10)
    assert head.status_code == 200 and head.content == b""

    old_id = feedparser.parse(first.content).entries[0].id
    with factory.begin() as session:  # a correction: new title, same article
        upsert_article(session, replace(extracted(1), title="Đã đính chính"), source=None)
    assert rebuild_all(factory, settings)  # some keys changed
    # servers re-check the cache every FRESHNESS_SECONDS
    deadline = time.monotonic() + FRESHNESS_SECONDS + 2
    while True:
        changed = get(f"{base}/feeds/all.rss", **{"If-None-Match": etag})
        if changed.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    (entry,) = feedparser.parse(changed.content).entries
    assert entry.id == old_id and entry.title == "Đã đính chính"
    atom = feedparser.parse(get(f"{base}/feeds/all.atom").content).entries[0]
    assert atom.id == old_id
    assert atom.updated_parsed > atom.published_parsed  # the correction moved `updated`
    assert old_id.endswith(f":article/{article_id}")  # the id names the database row


def test_queries_filter_cap_and_reject_bad_values(
    factory: sessionmaker[Session], settings: Settings, base: str
) -> None:
    add(factory, 1, title="Hội nghị công tác tuyên giáo")
    add(factory, 2, title="Giá lúa tăng", category="Kinh tế")
    add(factory, 3, title="Quảng cáo: đất nền giá rẻ", category="Kinh tế")
    rebuild_all(factory, settings)

    def titles(query: str) -> list[str]:
        return [i["title"] for i in get(f"{base}/feeds/all.json?{query}").json()["items"]]

    assert titles("q=tuyen+giao") == ["Hội nghị công tác tuyên giáo"]
    assert titles("q=GIÁ") == ["Quảng cáo: đất nền giá rẻ", "Giá lúa tăng"]
    assert titles("q=gia&exclude=quang+cao") == ["Giá lúa tăng"]
    assert len(titles("limit=2")) == 2
    assert len(titles("limit=100000")) == 3  # capped at 500, not an error
    for bad in ("limit=abc", "limit=0", "limit=-5", "q=" + "x" * 200):
        response = get(f"{base}/feeds/all.rss?{bad}")
        assert response.status_code == 400 and response.text.strip()
    assert get(f"{base}/feeds/kinh-te.rss?q=lua").status_code == 200


def test_unknown_feeds_are_friendly_404s(base: str) -> None:
    for path in ("/feeds/khong-co.rss", "/feeds/source/nope.atom", "/feeds/all.xml"):
        response = get(f"{base}{path}")
        assert response.status_code == 404
        assert "no such feed" in response.text and "/feeds/opml" in response.text


def test_opml_and_home_page(factory: sessionmaker[Session], settings: Settings, base: str) -> None:
    add(factory, 1, title="Tin <script>alert(1)</script> & mới")
    add(factory, 2, category="Kinh tế")
    rebuild_all(factory, settings)
    outline = lxml.etree.fromstring(get(f"{base}/feeds/opml").content)
    urls = {o.get("xmlUrl") for o in outline.iter("outline")}
    assert {f"{settings.base_url}/feeds/all.rss", f"{settings.base_url}/feeds/kinh-te.rss",
            f"{settings.base_url}/feeds/source/portal.rss"} <= urls  # fmt: skip
    page = get(f"{base}/")
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "Tin &lt;script&gt;alert(1)&lt;/script&gt; &amp; mới" in page.text
    doc = lxml.html.document_fromstring(page.text)
    hrefs = set(doc.xpath("//a/@href"))
    assert {"/feeds/all.rss", "/feeds/kinh-te.atom", "/feeds/opml", "/?lang=en"} <= hrefs
    assert doc.get("lang") == "vi" and "Tin mới nhất" in page.text
    english = get(f"{base}/?lang=en")
    assert "Latest headlines" in english.text and 'lang="en"' in english.text


def test_a_burst_of_identical_queries_renders_once(
    factory: sessionmaker[Session], settings: Settings, engine: Engine, base: str
) -> None:
    for n in range(20):
        add(factory, n)
    rebuild_all(factory, settings)
    get(f"{base}/feeds/all.rss")  # warm the cached default view
    article_selects = 0

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        nonlocal article_selects
        if statement.lstrip().upper().startswith("SELECT") and "FROM articles" in statement:
            article_selects += 1

    event.listen(engine, "before_cursor_execute", count)
    try:
        codes: list[int] = []
        barrier = threading.Barrier(50)

        def reader() -> None:
            barrier.wait()
            codes.append(get(f"{base}/feeds/all.rss?q=bai&limit=7").status_code)

        threads = [threading.Thread(target=reader) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert codes == [200] * 50
    assert article_selects == 1  # fifty readers, one render


def test_fast_path_answers_exactly_like_the_full_app(
    factory: sessionmaker[Session], settings: Settings, base: str
) -> None:
    add(factory, 1)
    rebuild_all(factory, settings)
    url = f"{base}/feeds/all.atom"
    full = get(url, **{"Accept-Encoding": "identity"})  # loads the document into memory
    fast = get(url, **{"Accept-Encoding": "identity"})  # now served by the fast path
    assert fast.content == full.content
    for header in ("etag", "last-modified", "cache-control", "content-type", "vary"):
        assert fast.headers[header] == full.headers[header], header
    for validator in (fast.headers["etag"], "*", f"W/{fast.headers['etag']}"):
        assert get(url, **{"If-None-Match": validator}).status_code == 304
    assert get(url, **{"If-None-Match": '"other"'}).status_code == 200
    assert requests.head(url, timeout=10).content == b""
    assert get(f"{base}/feeds/all.atom?limit=1").status_code == 200  # queries: the full app


def test_memory_and_database_give_byte_identical_answers(
    factory: sessionmaker[Session], settings: Settings, engine: Engine
) -> None:
    """The one response path: a document fresh in memory or loaded from the database.

    Which of the two answers is pinned here (not left to the one-second
    freshness window): forgetting the memory forces the database, a long
    freshness keeps memory, and counted statements prove which one ran.
    """
    add(factory, 1)
    add(factory, 2, category="Kinh tế")
    rebuild_all(factory, settings)
    app = create_app(settings, factory)
    statements = 0

    def count(*args: object) -> None:
        nonlocal statements
        statements += 1

    def fetch(url: str, method: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
        try:
            conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""),
                         headers=headers)  # fmt: skip
            response = conn.getresponse()
            kept = {k: v for k, v in response.getheaders() if k.lower() in MATTERING}
            return response.status, kept, response.read()
        finally:
            conn.close()

    with running_server(app, settings.http_port) as base:
        first = get(f"{base}/feeds/all.rss", **{"Accept-Encoding": "identity"})
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        requests_ = [
            {}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "gzip;q=0, identity"},
            {"If-None-Match": etag}, {"If-None-Match": f'"x", W/{etag[:-1]}-gz"'},
            {"If-None-Match": f"junk{etag}junk"}, {"If-Modified-Since": modified},
            {"If-Modified-Since": "Sun, 06 Nov 1994 08:49:37 GMT", "Accept-Encoding": "gzip"},
            {"If-Modified-Since": modified, "If-None-Match": '"x"'},
        ]  # fmt: skip
        event.listen(engine, "before_cursor_execute", count)
        try:
            for path in ("/feeds/all.rss", "/feeds/kinh-te.json", "/feeds/source/portal.atom",
                         "/feeds/all.atom?limit=50"):  # fmt: skip
                for method in ("GET", "HEAD"):
                    for headers in requests_:
                        app.service.store.forget()
                        app.service.store.freshness = 0.0
                        statements = 0
                        from_database = fetch(f"{base}{path}", method, headers)
                        assert statements > 0
                        app.service.store.freshness = 3600.0
                        fetch(f"{base}{path}", method, headers)  # into memory
                        statements = 0
                        from_memory = fetch(f"{base}{path}", method, headers)
                        assert statements == 0, (path, method, headers)
                        assert from_memory == from_database, (path, method, headers)
                        assert from_memory[0] in (200, 304)
        finally:
            event.remove(engine, "before_cursor_execute", count)


def test_feed_logo_and_full_content_switch(factory: sessionmaker[Session]) -> None:
    settings = load_settings(
        None,
        environ={
            "LOA_HTTP_PORT": str(free_port()),
            "LOA_FEED_LOGO_URL": "https://tin.example.vn/logo.png",
            "LOA_FEED_FULL_CONTENT": "false",
        },
    )
    add(factory, 1, body="Toàn văn bài viết.")
    rebuild_all(factory, settings)
    with running_server(create_app(settings, factory), settings.http_port) as url:
        rss = feedparser.parse(get(f"{url}/feeds/all.rss").content)
        atom = lxml.etree.fromstring(get(f"{url}/feeds/all.atom").content)
        doc = get(f"{url}/feeds/all.json").json()
    assert rss.feed.image["href"] == "https://tin.example.vn/logo.png"
    assert "content" not in rss.entries[0]
    assert atom.findtext(f"{ATOM}logo") == "https://tin.example.vn/logo.png"
    assert doc["icon"] == "https://tin.example.vn/logo.png"
    assert "Toàn văn" not in doc["items"][0]["content_text"]
