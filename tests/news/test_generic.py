"""Zero-config extraction on the real Vietnamese pages of corpus/vi-news.

Each article is checked field by field against INDEX.json; a known miss would
be listed in ``KNOWN_MISSES`` as a strict xfail, so a fix shows up as XPASS.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from news.errors import ExtractionError
from news.extraction import ExtractedArticle
from news.generic import discover_generic_links, extract_generic

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "vi-news"
INDEX: list[dict[str, Any]] = json.loads((CORPUS / "INDEX.json").read_text(encoding="utf-8"))
ARTICLES = [e for e in INDEX if e["kind"] == "article"]
LISTINGS = [e for e in INDEX if e["kind"] == "listing"]
_CANONICAL = re.compile(
    r"""<link[^>]+rel=["']canonical["'][^>]*href=["']([^"']+)|"""
    r"""<link[^>]+href=["']([^"']+)["'][^>]*rel=["']canonical|"""
    r"""property=["']og:url["'][^>]*content=["']([^"']+)"""
)

#: (file, field) -> reason; every entry runs as xfail(strict=True).
KNOWN_MISSES: dict[tuple[str, str], str] = {}


def page_url(entry: dict[str, Any], html: str) -> str:
    """The URL the page was fetched from: its own canonical URL, else one on its site."""
    if entry["kind"] == "listing":
        return f"http://{entry['site']}/"
    match = _CANONICAL.search(html)
    if match:
        return next(g for g in match.groups() if g)
    return f"http://{entry['site']}/{entry['file'].removesuffix('.html')}-article.html"


def page_now(entry: dict[str, Any]) -> datetime:
    """The page's true date plus a day: anchors year-less and relative dates."""
    published = entry.get("published")
    if published:
        return datetime.fromisoformat(published["iso"]) + timedelta(days=1)
    return datetime(2012, 12, 31, 12, 0, tzinfo=TZ)


def extract(entry: dict[str, Any]) -> ExtractedArticle:
    data = (CORPUS / entry["file"]).read_bytes()
    url = page_url(entry, data.decode("utf-8"))
    return extract_generic(data, url=url, now=page_now(entry), tz=TZ)


def cases(field: str) -> list[Any]:
    params = []
    for entry in ARTICLES:
        reason = KNOWN_MISSES.get((entry["file"], field))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(entry, id=entry["file"], marks=marks))
    return params


@pytest.mark.parametrize("entry", cases("title"))
def test_title(entry: dict[str, Any]) -> None:
    assert extract(entry).title == entry["title"]


@pytest.mark.parametrize("entry", cases("published"))
def test_published_at_with_time_of_day(entry: dict[str, Any]) -> None:
    article = extract(entry)
    published = entry["published"]
    if published is None:
        assert article.published_at is None
        return
    accepted = [published["iso"], *published.get("also_accepted", [])]
    assert article.published_at is not None
    assert article.published_at.isoformat() in accepted


@pytest.mark.parametrize("entry", cases("lead"))
def test_summary_starts_with_lead(entry: dict[str, Any]) -> None:
    article = extract(entry)
    if entry["lead_first_words"] is None:
        assert article.summary  # a forum thread still gets a summary
        return
    assert article.summary.startswith(entry["lead_first_words"])
    assert len(article.summary) <= 400


@pytest.mark.parametrize("entry", cases("shape"))
def test_article_shape(entry: dict[str, Any]) -> None:
    article = extract(entry)
    assert len(article.body) >= 150
    assert article.canonical_url.startswith("http")
    assert "utm_" not in article.canonical_url
    if article.image is not None:
        assert article.image.startswith("http")
    if article.published_at is not None:
        assert article.published_at.tzinfo is not None


@pytest.mark.parametrize("entry", LISTINGS, ids=[e["file"] for e in LISTINGS])
def test_listing_links(entry: dict[str, Any]) -> None:
    data = (CORPUS / entry["file"]).read_bytes()
    base = f"http://{entry['site']}/"
    links = discover_generic_links(data, base_url=base)
    host = entry["site"].removeprefix("www.")
    assert len(links) >= 10
    assert len(set(links)) == len(links)
    for link in links:
        parts = urlsplit(link)
        assert (parts.hostname or "").removeprefix("www.") == host
        assert not parts.fragment
        assert "utm_" not in parts.query


@pytest.mark.parametrize("entry", LISTINGS, ids=[e["file"] for e in LISTINGS])
def test_listing_is_not_an_article(entry: dict[str, Any]) -> None:
    with pytest.raises(ExtractionError):
        extract(entry)


def test_links_skip_junk_and_keep_page_order() -> None:
    html = """<html><body>
      <a href="/the-thao/doi-tuyen-viet-nam-thang-dam-thai-lan-123456.htm?utm_source=fb">a</a>
      <a href="#top">top</a><a href="javascript:void(0)">js</a><a href="mailto:a@b.vn">m</a>
      <a href="/tag/bong-da-viet-nam-moi-nhat.htm">tag</a>
      <a href="/video/clip-ban-thang-dep-nhat-tuan.htm">video</a>
      <a href="https://other.vn/bai-viet-tren-trang-khac-999999.htm">other host</a>
      <a href="/images/anh-dep-nhat-nam-2012.jpg">img</a>
      <a href="/kinh-te/gia-vang-hom-nay-tang-manh.html">b</a>
      <a href="/the-thao/doi-tuyen-viet-nam-thang-dam-thai-lan-123456.htm">dup</a>
      <a href="/the-thao">section</a>
    </body></html>"""
    assert discover_generic_links(html, base_url="https://bao.example.vn/") == [
        "https://bao.example.vn/the-thao/doi-tuyen-viet-nam-thang-dam-thai-lan-123456.htm",
        "https://bao.example.vn/kinh-te/gia-vang-hom-nay-tang-manh.html",
    ]


def test_unreadable_date_keeps_the_article() -> None:
    paragraph = "Nội dung bài viết đủ dài để được coi là thân bài của một bài báo. " * 5
    html = f"""<html><head><title>Tin thử nghiệm về giá xăng - Báo Mẫu</title></head><body>
      <h1>Tin thử nghiệm về giá xăng</h1><div class="date">Ngày đăng: 31/02/2024 10:00</div>
      <p>{paragraph}</p><p>{paragraph}</p></body></html>"""
    now = datetime(2024, 3, 5, tzinfo=TZ)
    article = extract_generic(
        html, url="https://bao.example.vn/tin-thu-nghiem-gia-xang.html", now=now, tz=TZ
    )
    assert article.title == "Tin thử nghiệm về giá xăng"
    assert article.published_at is None
    assert article.summary.startswith("Nội dung bài viết")


@pytest.mark.parametrize("html", ["", "   ", "<html><body><p>x</p></body></html>"])
def test_junk_raises(html: str) -> None:
    with pytest.raises(ExtractionError):
        extract_generic(
            html, url="https://bao.example.vn/a-b-c-d.html", now=datetime.now(TZ), tz=TZ
        )
