"""Hostile sources: a site that tries to hold, flood or trick a poll.

Every case runs against the local fixture server (tests/sites) on 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import SourceConfig
from news.db import utcnow, write_session
from news.errors import ExtractionError, FetchError
from news.extract import ExtractedArticle, reader_for
from news.extract.charset import LegacyEncodingError, looks_binary
from news.fetch import Fetcher, make_session
from news.models import Article
from news.poll import poll_source
from news.reading import SourceReading
from news.store import get_or_create_source, storable, upsert_article
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


HOSTILE_FEED = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title><link>{base}/</link>
<item><title>Script link</title><link>javascript:alert(document.domain)</link>
<description>{long}</description><enclosure url="{base}/i.jpg" type="image/jpeg"/></item>
<item><title>Data link</title><link>data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;</link>
<description>{long}</description><enclosure url="{base}/i.jpg" type="image/jpeg"/></item>
<item><title>Bài thật</title><link>{base}/bai-that.html</link><description>ngắn</description></item>
</channel></rss>"""
HOSTILE_PAGE = """<html><head><title>Bài thật</title>
<link rel="canonical" href="javascript:alert(1)">
<meta property="og:image" content="vbscript:msgbox(1)">
</head><body><article><h1>Bài thật</h1><p class="date">Ngày đăng: 10:00 | 13/03/2023</p>
<p><b>Lãnh đạo tỉnh làm việc với các sở ngành về kế hoạch năm mới và các nhiệm vụ trọng tâm.</b></p>
<p>{long}</p><p>{long}</p></article></body></html>"""


def test_only_web_urls_are_stored_from_a_hostile_feed_and_page(
    factory: sessionmaker[Session],
) -> None:
    """javascript:/data:/vbscript: links never reach the database (so no feed, page or post)."""
    long_text = "Nội dung bài viết dài về công tác của tỉnh trong năm. " * 8
    pages: dict[str, tuple[str, str]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            kind, body = pages.get(self.path, ("text/plain", "not found"))
            data = body.encode("utf-8")
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    pages["/feed.xml"] = ("application/rss+xml", HOSTILE_FEED.format(base=base, long=long_text))
    pages["/bai-that.html"] = ("text/html; charset=utf-8", HOSTILE_PAGE.format(long=long_text))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        source = SourceConfig(
            name="hostile", kind="rss", url=base + "/feed.xml", respect_robots=False
        )
        poll_source(
            factory,
            SourceReading(
                source,
                Fetcher(respect_robots=False),
                reader_for(None),
                tz=ZoneInfo("Asia/Ho_Chi_Minh"),
            ),
        )
    finally:
        server.shutdown()
        server.server_close()
    with factory() as session:
        articles = session.scalars(select(Article)).all()
        assert [a.title for a in articles] == ["Bài thật"]
        (article,) = articles
        assert article.url == base + "/bai-that.html"
        assert article.canonical_url == article.url  # the hostile canonical was dropped
        assert article.image is None or article.image.startswith(base)
        for value in (article.url, article.canonical_url, article.image or ""):
            assert not value.lower().startswith(("javascript:", "data:", "vbscript:"))


def test_store_refuses_an_article_whose_own_address_is_not_web() -> None:
    extracted = ExtractedArticle(
        url="javascript:alert(1)", canonical_url="javascript:alert(1)", title="t",
        category="", category_slug="", published_at=None, date_inferred=False,
        summary="s", body="b", image="data:image/png;base64,AAAA", author=None,
    )  # fmt: skip
    with pytest.raises(ExtractionError, match="not an http"):
        storable(extracted)
    relative = storable(
        ExtractedArticle(
            url="https://portal.test/a/1.html",
            canonical_url="/a/1.html",
            title="t",
            category="",
            category_slug="",
            published_at=None,
            date_inferred=False,
            summary="s",
            body="b",
            image="../img/1.jpg",
            author=None,
        )  # fmt: skip
    )
    assert relative.canonical_url == "https://portal.test/a/1.html"
    assert relative.image == "https://portal.test/img/1.jpg"


def test_random_binary_served_as_html_is_refused_as_not_text() -> None:
    noise = random.Random(7).randbytes(50_000)
    with pytest.raises(ExtractionError, match="not text") as info:
        reader_for(None).article(
            noise, url="http://portal.test/a.html", now=utcnow(), tz=ZoneInfo("UTC"),
            summary_chars=400, content_type="text/html",
        )  # fmt: skip
    assert not isinstance(info.value, LegacyEncodingError)  # not a "TCVN3 page" either
    utf16 = "<html><body><p>Tin tức</p></body></html>".encode("utf-16")
    assert not looks_binary(utf16)


@pytest.mark.parametrize("target", ["/dev/zero", "{dir}", "{big}"])
def test_loa_extract_of_a_local_file_is_capped(tmp_path: Path, target: str) -> None:
    """`loa extract /dev/zero` once read 7 GB in 5 s: same 5 MB cap as a download."""
    big = tmp_path / "big.html"
    big.write_bytes(b"<p>" + b"x" * (6 * 1024 * 1024) + b"</p>")
    path = target.format(dir=tmp_path, big=big)
    done = subprocess.run(
        [sys.executable, "-m", "loa", "extract", path],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
        env={**os.environ, "LOA_DATA_DIR": str(tmp_path / "var")},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "regular file" in done.stderr or "larger than" in done.stderr


def test_a_page_declaring_another_sources_canonical_cannot_rewrite_it(
    factory: sessionmaker[Session],
) -> None:
    """Site B says its page's canonical is site A's article: A's row stays A's."""

    def page(url: str, canonical: str, body: str) -> ExtractedArticle:
        return ExtractedArticle(
            url=url, canonical_url=canonical, title="Tin A", category="", category_slug="",
            published_at=None, date_inferred=False, summary="Tóm tắt", body=body,
            image=None, author=None,
        )  # fmt: skip

    with write_session(factory) as session:
        site_a = get_or_create_source(session, name="a", kind="html", url="http://a.test/")
        site_b = get_or_create_source(session, name="b", kind="html", url="http://b.test/")
        original = upsert_article(
            session, page("http://a.test/x.html", "http://a.test/x.html", "Bài gốc"),
            source=site_a, identity="a.test/x.html",
        )  # fmt: skip
        upsert_article(
            session, page("http://b.test/evil.html", "http://a.test/x.html", "Nội dung giả"),
            source=site_b, identity="b.test/evil.html",
        )  # fmt: skip
    with factory() as session:
        row = session.get_one(Article, original.article_id)
        assert (row.body, row.version, row.source_id) == ("Bài gốc", 1, site_a.id)
