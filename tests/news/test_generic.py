"""Zero-config extraction on real and synthetic Vietnamese pages.

Two corpora: the real pages of corpus/vi-news (INDEX.json) and Loa's own
tests/sites corpus (four CMS styles: a provincial portal, a modern news site,
an ASP.NET government portal, a WordPress paper). Each article is checked field
by field against its index, with no profile: the extractor sees each site for
the first time. A known miss is listed in ``KNOWN_MISSES``/``SITE_MISSES`` as a
strict xfail, so a fix shows up as XPASS.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from news.errors import ExtractionError
from news.extract import ExtractedArticle
from news.extract.charset import decode_html
from news.extract.zero_config import discover_generic_links, extract_generic

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
KNOWN_MISSES: dict[tuple[str, str], str] = {
    ("ngoisao-1.html", "author"): "the byline (H.V. / Ảnh: Misso) is not in trafilatura's body",
}


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


def cases(field: str, entries: list[dict[str, Any]] = ARTICLES) -> list[Any]:
    params = []
    for entry in entries:
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


@pytest.mark.parametrize("entry", cases("author", [e for e in ARTICLES if e.get("author")]))
def test_author(entry: dict[str, Any]) -> None:
    """The byline the page prints: a signature after the body, a "Tin, ảnh:" line, a marked
    byline element; metadata naming a site ("VnExpress") is no author."""
    assert extract(entry).author == entry["author"]


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


# ---------------------------------------------------------------- tests/sites corpus

SITES = Path(__file__).resolve().parents[1] / "sites" / "corpus"
SITE_INDEX: list[dict[str, Any]] = json.loads((SITES / "index.json").read_text(encoding="utf-8"))
SITE_ARTICLES = [e for e in SITE_INDEX if e["kind"] == "article"]
SITE_LISTINGS = [e for e in SITE_INDEX if e["kind"] == "listing"]

#: (path, field) -> reason; every entry runs as xfail(strict=True).
SITE_MISSES: dict[tuple[str, str], str] = {}


def site_cases(field: str, entries: list[dict[str, Any]]) -> list[Any]:
    params = []
    for entry in entries:
        reason = SITE_MISSES.get((entry["path"], field))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(entry, id=entry["path"], marks=marks))
    return params


def extract_site(entry: dict[str, Any]) -> ExtractedArticle:
    """The page as a reader's browser decodes it (meta charset), at the index's "now"."""
    text = decode_html((SITES / entry["path"]).read_bytes(), None)
    now = datetime.fromisoformat(entry["now"])
    return extract_generic(text, url=entry["url"], now=now, tz=TZ)


@pytest.mark.parametrize("entry", site_cases("title", SITE_ARTICLES))
def test_site_title(entry: dict[str, Any]) -> None:
    assert extract_site(entry).title == entry["expected"]["title"]


@pytest.mark.parametrize("entry", site_cases("published", SITE_ARTICLES))
def test_site_published_at(entry: dict[str, Any]) -> None:
    """To the minute with its offset; a page that prints no date gives None, not the clock."""
    published = extract_site(entry).published_at
    expected = entry["expected"]["published_at"]
    assert (published.isoformat() if published else None) == expected


@pytest.mark.parametrize("entry", site_cases("lead", SITE_ARTICLES))
def test_site_summary_starts_with_lead(entry: dict[str, Any]) -> None:
    summary = extract_site(entry).summary
    assert summary.startswith(entry["expected"]["lead_first_words"])
    assert len(summary) <= 400


@pytest.mark.parametrize(
    "entry", [e for e in SITE_ARTICLES if "served_charset" in e], ids=lambda e: e["path"]
)
def test_site_wrong_header_charset(entry: dict[str, Any]) -> None:
    """Served with a wrong Content-Type charset: the page's own meta charset still wins."""
    data = (SITES / entry["path"]).read_bytes()
    content_type = f"text/html; charset={entry['served_charset']}"
    now = datetime.fromisoformat(entry["now"])
    article = extract_generic(data, url=entry["url"], now=now, tz=TZ, content_type=content_type)
    assert article.title == entry["expected"]["title"]


@pytest.mark.parametrize("entry", site_cases("category", SITE_ARTICLES))
def test_site_category(entry: dict[str, Any]) -> None:
    assert extract_site(entry).category == entry["expected"]["category"]


@pytest.mark.parametrize("entry", site_cases("author", SITE_ARTICLES))
def test_site_author(entry: dict[str, Any]) -> None:
    """As printed, in NFC; None when the page names nobody; a byline line is no paragraph."""
    article = extract_site(entry)
    assert article.author == entry["expected"]["author"]
    if article.author is not None:
        assert unicodedata.is_normalized("NFC", article.author)
        assert article.author not in article.body.split("\n")


@pytest.mark.parametrize("entry", site_cases("listing", SITE_LISTINGS))
def test_site_listing_is_not_an_article(entry: dict[str, Any]) -> None:
    with pytest.raises(ExtractionError):
        extract_site(entry)


@pytest.mark.parametrize("entry", site_cases("links", SITE_LISTINGS))
def test_site_listing_links(entry: dict[str, Any]) -> None:
    """Every article the listing shows is found, including ASP.NET ``?ItemID=`` links."""
    data = (SITES / entry["path"]).read_bytes()
    links = discover_generic_links(data, base_url=entry["url"])
    assert set(links) == set(entry["expected"]["links"])


def test_table_layout_title_in_a_span_with_short_body() -> None:
    """An ASP.NET page: no heading, the title in a classed ``<SPAN>``, a bold sapo and
    one body line; the header clock above the title is not the publication time."""
    html = """<HTML><HEAD><TITLE>Ra quân trồng cây đầu xuân</TITLE></HEAD><BODY>
      <TABLE><TR><TD CLASS="clock">Thứ năm, 03/01/2013, 10:00:12</TD></TR></TABLE>
      <TABLE><TR><TD CLASS="breadcrumb">Trang chủ &raquo; <SPAN>Tin nông nghiệp</SPAN></TD></TR>
      </TABLE><SPAN id="lblTitle" CLASS="title">Ra quân trồng cây đầu xuân</SPAN><BR>
      <SPAN CLASS="date">24/12/12 11:05 tối</SPAN>
      <DIV CLASS="summary"><B>Cán bộ, công chức của Sở đã trồng hơn 1.500 cây xanh tại
      khu vực rừng phòng hộ ven biển.</B></DIV>
      <DIV><P>Các đơn vị được giao chăm sóc cây trồng đến khi cây phát triển ổn định.</P></DIV>
      </BODY></HTML>"""
    now = datetime(2013, 1, 3, 10, tzinfo=TZ)
    article = extract_generic(
        html, url="http://so.example.vn/Default.aspx?ItemID=1", now=now, tz=TZ
    )
    assert article.title == "Ra quân trồng cây đầu xuân"
    assert article.category == "Tin nông nghiệp"
    assert article.published_at == datetime(2012, 12, 24, 23, 5, tzinfo=TZ)
    assert article.summary.startswith("Cán bộ, công chức")


def test_wordpress_time_datetime_but_not_the_update() -> None:
    """The ``datetime`` of the published ``<time>`` wins; the "updated" one is skipped."""
    paragraph = "Nội dung bài viết đủ dài để được coi là thân bài của một bài báo. " * 4
    html = f"""<html><head><title>Chợ phiên vùng cao &#8211; Báo Mẫu</title></head><body>
      <article><h1 class="entry-title">Chợ phiên vùng cao</h1>
      <time class="updated" datetime="2023-02-01T09:00:00+07:00">01/02/2023</time>
      <a rel="bookmark" href="/p"><time class="entry-date published"
        datetime="2023-01-18T08:15:00+07:00">18/01/2023</time></a>
      <p>{paragraph}</p><p>{paragraph}</p>
      <span class="cat-links"><a rel="category tag" href="/c/du-lich/">Du lịch</a></span>
      </article></body></html>"""
    now = datetime(2023, 3, 14, tzinfo=TZ)
    article = extract_generic(html, url="http://bao.example.vn/2023/01/18/cho/", now=now, tz=TZ)
    assert article.title == "Chợ phiên vùng cao"
    assert article.published_at == datetime(2023, 1, 18, 8, 15, tzinfo=TZ)
    assert article.category == "Du lịch"


def test_short_item_needs_a_title_a_date_and_a_lead() -> None:
    """A two-line notice is an article when it shows a title, a date near it and a lead;
    the same few lines without a date are no evidence of an article."""
    notice = """<html><head><title>Cấm xe qua cầu đêm nay - Báo Mẫu</title>
      <meta property="og:title" content="Cấm xe qua cầu đêm nay"></head><body>
      <h1 class="title">Cấm xe qua cầu đêm nay</h1>{date}
      <p class="sapo">Cầu cấm mọi phương tiện từ 23h đêm nay để sửa khe co giãn.</p>
      <p>Xe đi cầu Long Biên.</p></body></html>"""
    url = "https://bao.example.vn/thoi-su/cam-xe-qua-cau-dem-nay-1.html"
    now = datetime(2023, 3, 14, tzinfo=TZ)
    dated = notice.format(date='<span class="date">13/03/2023, 17:05</span>')
    article = extract_generic(dated, url=url, now=now, tz=TZ)
    assert article.title == "Cấm xe qua cầu đêm nay"
    assert article.published_at == datetime(2023, 3, 13, 17, 5, tzinfo=TZ)
    assert article.summary.startswith("Cầu cấm mọi phương tiện")
    with pytest.raises(ExtractionError, match="no article body"):
        extract_generic(notice.format(date=""), url=url, now=now, tz=TZ)
