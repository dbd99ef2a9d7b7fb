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
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import lxml.etree
import lxml.html

from news.errors import ExtractionError
from news.extract.article import ExtractedArticle
from news.extract.byline import byline, is_photo_credit
from news.extract.charset import decode_html
from news.extract.dates import looks_like_header_clock, parse_vietnamese_datetime
from news.text import normalize_text, slugify, summarize

__all__ = [
    "PROFILE",
    "canonicalize_url",
    "discover_cms_links",
    "extract_cms_article",
]

PROFILE = "cms-portal"


# ---------------------------------------------------------------- decoding

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _decode(data: str | bytes, url: str) -> str:
    """Text of a page (see :func:`news.extract.charset.decode_html` for the rules)."""
    if isinstance(data, str):
        return data
    return decode_html(data, url=url)


def parse_html(data: str | bytes, url: str) -> Any:
    """lxml document root; junk that is not HTML at all raises ExtractionError."""
    text = _BAD_XML_CHARS.sub("", _XML_DECL.sub("", _decode(data, url)))
    if not text.strip():
        raise ExtractionError("empty page", url=url)
    try:
        root = lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"not an HTML page: {exc}", url=url) from exc
    for junk in root.xpath("//script|//style|//noscript|//template|//comment()"):
        if junk.getparent() is not None:  # a comment may sit before or after <html>
            junk.drop_tree()
    return root


# ---------------------------------------------------------------- layout

_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr html legend li main nav ol "
    "p pre section summary table tbody td tfoot th thead tr ul".split()
)


@dataclass(frozen=True, slots=True)
class _Line:
    """A laid-out line of text, or an image (``image`` set, ``text`` empty)."""

    text: str
    image: str | None = None


def _image_src(el: Any) -> str | None:
    for attr in ("src", "data-src", "data-original"):
        value = el.get(attr)
        if value and not str(value).startswith("data:"):
            return str(value).strip()
    return None


def block_lines(el: Any, *, images: bool = False) -> list[_Line]:
    """Text of `el` broken into lines the way a browser breaks block elements.

    With `images`, each <img> becomes a line of its own carrying its source,
    so callers can keep pictures in reading order. Shared by the landmark
    extractor and the selector profiles.
    """
    lines: list[_Line] = []
    pieces: list[str] = []

    def flush() -> None:
        text = normalize_text("".join(pieces))
        pieces.clear()
        if text:
            lines.append(_Line(text))

    for event, node in lxml.etree.iterwalk(el, ("start", "end")):
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        if event == "start":
            if tag in _BLOCK_TAGS or tag == "br":
                flush()
            if images and tag == "img":
                flush()
                src = _image_src(node)
                if src:
                    lines.append(_Line("", image=src))
            if node.text and tag:
                pieces.append(node.text)
        else:
            if tag in _BLOCK_TAGS:
                flush()
            if node is not el and node.tail:
                pieces.append(node.tail)
    flush()
    return lines


def _layout(root: Any) -> list[_Line]:
    """The page body as lines, images included."""
    body = root.find("body")
    return block_lines(body if body is not None else root, images=True)


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


def _take_byline(body: list[_Line]) -> str | None:
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


def _meta(root: Any, *names: str) -> str:
    for name in names:
        for attr in ("property", "name"):
            for value in root.xpath(f"//meta[@{attr}=$n]/@content", n=name):
                text = normalize_text(str(value))
                if text:
                    return text
    return ""


def _page_title(root: Any) -> str:
    title = _meta(root, "og:title")
    if not title:
        found = root.xpath("//title")
        title = normalize_text(found[0].text_content()) if found else ""
    return title


#: Tracking parameters dropped from every URL Loa stores, Vietnamese ones included
#: (Zalo adds ``zarsrc``; some CMSs add ``vn_source``...).
_TRACKING = re.compile(
    r"^(utm_\w*|fbclid|gclid|dclid|msclkid|zarsrc|_ga|_gl|mc_cid|mc_eid|igshid|ref_src"
    r"|vn_source|vn_medium|vn_campaign)$",
    re.I,
)


def canonicalize_url(url: str) -> str:
    """Drop tracking parameters (utm_*, fbclid, gclid) and the fragment."""
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = urlencode([(k, v) for k, v in query if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, kept, ""))


def _canonical(root: Any, url: str) -> str:
    hrefs = root.xpath(
        "//link[contains(concat(' ', translate(@rel, 'CANONICAL', 'canonical'), ' '),"
        " ' canonical ')]/@href"
    )
    candidate = str(hrefs[0]).strip() if hrefs else _meta(root, "og:url")
    return canonicalize_url(urljoin(url, candidate) if candidate else url)


def _base_url(root: Any, url: str) -> str:
    base = root.xpath("//base/@href")
    return urljoin(url, str(base[0]).strip()) if base else url


def _body_lines(lines: list[_Line]) -> Iterator[_Line]:
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
    lines = _layout(root)
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
    category = category or _meta(root, "article:section")

    published_at, inferred = None, False
    if date_index is not None:
        date_text = _VIEWS.split(texts[date_index])[0]
        parsed = parse_vietnamese_datetime(date_text, now=now, tz=tz)
        if parsed is not None:
            published_at, inferred = parsed.value, parsed.inferred_year
    body_start = date_index + 1 if date_index is not None else head_end

    body = list(_body_lines(lines[body_start:]))
    while body and body[-1].image is not None:
        body.pop()
    author = _take_byline(body)
    paragraphs = [b.text for b in body if b.text]
    if not paragraphs:
        raise ExtractionError("no article body found", url=url)
    image_src = next((b.image for b in body if b.image is not None), None)
    image = urljoin(_base_url(root, url), image_src) if image_src else None

    return ExtractedArticle(
        url=url,
        canonical_url=_canonical(root, url),
        title=title,
        category=category,
        category_slug=slugify(category),
        published_at=published_at,
        date_inferred=inferred,
        summary=summarize(paragraphs[0], summary_chars),
        body="\n\n".join(paragraphs),
        image=image,
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
    base = _base_url(root, base_url)
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
