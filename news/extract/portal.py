"""Built-in extractor for the provincial portal CMS (site profile ``cms-portal``).

We only know this CMS from what a reader sees, so the extractor anchors on the
page's visible text landmarks instead of guessed class names: the page is
flattened into lines the way a browser lays out block elements, then read like
the sample page::

    Chi tiết tin tức                 <- landmark
    Công tác tuyên giáo              <- category
    <title>                          <- title
    Ngày đăng: 16:56 | 13/03 Lượt xem: 690
    <lead>                           <- first paragraph: the summary
    <image, caption printed twice, body paragraphs>
    NGUYÊN ĐOAN (THỰC HIỆN)          <- byline: the author (see news.extract.byline)
    [Trở về] / Các tin mới hơn: ...  <- end of the article

Everything else (header clock, welcome line, view and visit counters, link
boxes) is page chrome and never reaches the body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

from news.errors import ExtractionError
from news.extract.article import ExtractedArticle
from news.extract.byline import byline, is_photo_credit
from news.extract.dates import looks_like_header_clock, parse_vietnamese_datetime
from news.extract.page import (
    Line,
    block_lines,
    canonical_url,
    canonicalize_url,
    link_base,
    meta,
    parse_html,
)
from news.text import normalize_text

__all__ = ["PROFILE", "discover_cms_links", "extract_cms_article"]

PROFILE = "cms-portal"


# ---------------------------------------------------------------- landmarks

_LANDMARK = "chi tiết tin tức"
_DATE_LINE = re.compile(r"^(?:(?:ngày đăng|ngày cập nhật)\b|(?:cập nhật|đăng lúc)\s*:)", re.I)
_HEAD_LINES = 5  # the date line sits right under category and title
_VIEWS = re.compile(r"lượt xem\s*:?\s*[\d.,]*", re.I)
_END_MARKERS = re.compile(
    r"^(\[\s*trở về\s*\]|trở về|các tin mới hơn|các tin cũ hơn|các tin khác|tin liên quan"
    r"|liên kết web|lượt truy cập)\s*:?$",
    re.I,
)
_CHROME = re.compile(
    r"^(lượt xem\s*:?\s*[\d.,]*|\d[\d.,]*|(hôm nay|hôm qua|tuần này|tháng này|năm này|tổng"
    r"|đang online|đang truy cập|trực tuyến)\s*:\s*[\d.,]+"
    r"|chào mừng .*đến với (?:cổng|trang|website|web).*)$",
    re.I,
)


def _is_chrome(text: str) -> bool:
    return bool(_CHROME.match(text)) or looks_like_header_clock(text)


def _take_byline(body: list[Line]) -> str | None:
    """The author printed after the last paragraph, removed from `body` with any photo
    credit line after it ("ĐỨC QUÂN" then "Ảnh: THANH HẢI"); None when there is none.

    The line is read without its markup, so only the shapes that need no bold or
    alignment to be told apart count (an upper-case name, a "Tin, ảnh:" label).
    """
    texts = [i for i, line in enumerate(body) if line.text]
    if len(texts) >= 2 and is_photo_credit(body[texts[-1]].text):
        texts.pop()
    if len(texts) < 2:  # a byline needs a paragraph above it
        return None
    author = byline(body[texts[-1]].text)
    if author is not None:
        del body[texts[-1] :]
    return author


def _page_title(root: Any) -> str:
    title = meta(root, "og:title")
    if not title:
        found = root.xpath("//title")
        title = normalize_text(found[0].text_content()) if found else ""
    return title


def _body_lines(lines: list[Line]) -> Iterator[Line]:
    """Lines up to the first end marker, chrome skipped, repeated captions once."""
    previous = ""
    for line in lines:
        if line.image is not None:
            yield line
            continue
        if _END_MARKERS.match(line.text):
            return
        if _is_chrome(line.text) or line.text == previous:
            continue
        previous = line.text
        yield line


def extract_cms_article(
    html: str | bytes, *, url: str, now: datetime, tz: ZoneInfo, summary_chars: int = 400
) -> ExtractedArticle:
    """Read one article page of the portal CMS; raise ExtractionError if it is not one."""
    root = parse_html(html, url)
    body_el = root.find("body")
    lines = block_lines(body_el if body_el is not None else root, images=True)
    texts = [line.text for line in lines]
    date_at = [i for i, t in enumerate(texts) if _DATE_LINE.match(t)]
    landmark = next((i for i, t in enumerate(texts) if t.casefold().strip(" :") == _LANDMARK), None)
    if landmark is None and len(date_at) != 1:
        raise ExtractionError("no 'Chi tiết tin tức' block: not an article page", url=url)

    start = landmark + 1 if landmark is not None else date_at[0]
    date_index = next((i for i in date_at if start <= i <= start + _HEAD_LINES), None)
    head_end = date_index if date_index is not None else min(start + 2, len(lines))
    head = [t for t in texts[start:head_end] if t and not _is_chrome(t)]
    category, title = "", ""
    if landmark is None:
        title = head[-1] if head else ""  # the heading right above the date line
    elif len(head) >= 2:
        category, title = head[0], head[1]
    elif head:
        title = head[0]
    title = title or _page_title(root)
    if not title:
        raise ExtractionError("no title found", url=url)
    category = category or meta(root, "article:section")

    published = None
    if date_index is not None:
        date_text = _VIEWS.split(texts[date_index])[0]
        published = parse_vietnamese_datetime(date_text, now=now, tz=tz)
    body_start = date_index + 1 if date_index is not None else head_end

    body = list(_body_lines(lines[body_start:]))
    while body and body[-1].image is not None:
        body.pop()
    author = _take_byline(body)
    paragraphs = [b.text for b in body if b.text]
    if not paragraphs:
        raise ExtractionError("no article body found", url=url)
    image_src = next((b.image for b in body if b.image is not None), None)
    return ExtractedArticle.build(
        url=url,
        canonical_url=canonical_url(root, url),
        title=title,
        category=category,
        published=published,
        lead=paragraphs[0],
        body="\n\n".join(paragraphs),
        summary_chars=summary_chars,
        image=urljoin(link_base(root, url), image_src) if image_src else None,
        author=author,
    )


_ARTICLE_PATH = re.compile(r"(-\d+\.html?$)|(/tin-tuc/.+)", re.I)


def _host_key(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port or default
    except ValueError:
        port = -1
    return host, port


def discover_cms_links(html: str | bytes, *, base_url: str) -> list[str]:
    """Absolute article URLs on a listing page: same host, article-like paths, in page order."""
    root = parse_html(html, base_url)
    base = link_base(root, base_url)
    home = _host_key(base_url)
    seen: set[str] = set()
    found: list[str] = []
    for href in root.xpath("//a/@href"):
        link = canonicalize_url(urljoin(base, str(href).strip()))
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or _host_key(link) != home:
            continue
        if "/chuyen-muc/" in parts.path or not _ARTICLE_PATH.search(parts.path):
            continue
        if link not in seen:
            seen.add(link)
            found.append(link)
    return found
