"""Zero-config extraction for news sites that have no profile.

trafilatura finds article bodies well, but on Vietnamese news pages (old
ASP.NET markup, uppercase tags, logos in ``<h1>``, sub-documents pasted inside
the page, dates shown only as "Thứ sáu, 28/12/2012, 14:46 GMT+7") its title,
date and lead are often wrong. So trafilatura supplies the body only, and the
fields readers see first come from heuristics that look at the page the way a
reader does:

* title: the heading that agrees with ``<title>``/``og:title`` (a heading
  that the page's own title starts with), else ``og:title``, else the first
  non-logo ``<h1>``, else ``<title>`` minus its " - SiteName" suffix;
* published time: machine-readable metadata when it carries a time of day,
  else the Vietnamese date printed near the title (never the header clock,
  never dates inside link lists of other articles);
* lead (sapo): an element marked sapo/lead/summary, else ``og:description``,
  else the page description if the body confirms it, else the first paragraph.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import lxml.etree
import lxml.html
import trafilatura

from news.charset import decode_html
from news.dates import looks_like_header_clock, parse_vietnamese_datetime
from news.errors import ExtractionError
from news.extraction import ExtractedArticle, canonicalize_url
from news.text import normalize_text, slugify, summarize

__all__ = ["discover_generic_links", "extract_generic"]

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_MIN_BODY_CHARS = 150


def _text(content: bytes | str, content_type: str | None) -> str:
    raw = decode_html(content, content_type) if isinstance(content, bytes) else content
    return _BAD_CHARS.sub("", _XML_DECL.sub("", raw))


def _parse(text: str, url: str) -> Any:
    if not text.strip():
        raise ExtractionError("empty page", url=url)
    try:
        return lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"not an HTML page: {exc}", url=url) from exc


def _clean(value: object) -> str:
    """NFC single-spaced text; stray double-escaped entities ("&amp;quot;") undone."""
    return normalize_text(html.unescape(str(value))) if value is not None else ""


def _meta(root: Any, *names: str) -> str:
    """First non-empty ``<meta>`` content for any of ``names`` (property, name, itemprop)."""
    for name in names:
        for attr in ("property", "name", "itemprop"):
            for value in root.xpath(f"//meta[@{attr}=$n]/@content", n=name):
                text = _clean(value)
                if text:
                    return text
    return ""


def _jsonld(root: Any) -> list[dict[str, Any]]:
    """Every JSON-LD object on the page (``@graph`` flattened); broken blocks skipped."""
    found: list[dict[str, Any]] = []
    for script in root.xpath("//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text_content() or "")
        except ValueError:
            continue
        stack = data if isinstance(data, list) else [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, dict):
                found.append(item)
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(graph)
            elif isinstance(item, list):
                stack.extend(item)
    return found


def _jsonld_value(objects: list[dict[str, Any]], key: str) -> str:
    for obj in objects:
        value = obj.get(key)
        if isinstance(value, dict):
            value = value.get("name")
        if isinstance(value, list) and value:
            value = value[0].get("name") if isinstance(value[0], dict) else value[0]
        if isinstance(value, str) and value.strip():
            return _clean(value)
    return ""


def _classes(el: Any) -> str:
    return f"{el.get('class', '')} {el.get('id', '')}".lower()


# ---------------------------------------------------------------- title

_SUFFIX = re.compile(r"\s+[-|–—:»]\s+[^-|–—:»]{2,60}$")
_LOGO = re.compile(r"logo|brand|site-?name", re.I)


def _is_logo(el: Any) -> bool:
    for node in [el, *el.iterancestors()][:3]:
        if _LOGO.search(_classes(node)):
            return True
    return bool(el.xpath(".//img")) and not _clean(el.text_content())


def _headings(root: Any) -> list[tuple[str, Any]]:
    """Title-like headings in page order: every h1, and h2/h3 classed or marked as a title."""
    found: list[tuple[str, Any]] = []
    for el in root.xpath("//h1|//h2|//h3|//*[@itemprop='headline']"):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag != "h1" and "title" not in _classes(el) and el.get("itemprop") != "headline":
            continue
        text = _clean(el.text_content())
        if text and not _is_logo(el):
            found.append((text, el))
    return found


def _agrees(heading: str, reference: str) -> bool:
    """The page title repeats the heading, maybe followed by a site or SEO suffix."""
    h, r = heading.casefold(), reference.casefold()
    if len(h) < 8 or not r.startswith(h):
        return False
    rest = r[len(h) :]
    return not rest or not rest[0].isalnum()


def _title(root: Any, ld: list[dict[str, Any]]) -> tuple[str, Any]:
    """The article title and its element (``None`` when it came from metadata only)."""
    og = _meta(root, "og:title", "twitter:title")
    refs = [og, _meta(root, "title"), _jsonld_value(ld, "headline")]
    refs += [_clean(t.text_content()) for t in root.xpath("//title")]
    refs = [r for r in refs if r]
    headings = _headings(root)
    for text, el in headings:
        if any(_agrees(text, ref) for ref in refs):
            return text, el
    if og:
        return og, None
    h1s = [(t, el) for t, el in headings if el.tag.lower() == "h1"]
    if h1s:
        return h1s[0]
    for ref in refs:
        stripped = _SUFFIX.sub("", ref)
        if stripped:
            return stripped, None
    return "", None


# ---------------------------------------------------------------- layout near the title

_BLOCK = frozenset(
    "address article aside blockquote body center dd div dl dt footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p section table td th tr ul".split()
)
_SKIP = frozenset({"script", "style", "noscript", "template", "select", "option"})


@dataclass(slots=True)
class _Line:
    text: str
    in_link: bool


def _lines(root: Any, anchor: Any) -> tuple[list[_Line], int]:
    """Visible lines of the body and the index of the line where ``anchor`` starts."""
    lines: list[_Line] = []
    pieces: list[str] = []
    link_depth = 0
    linked: list[str] = []
    anchor_at = -1

    def flush() -> None:
        text = normalize_text("".join(pieces))
        share = len(normalize_text("".join(linked))) * 2 > len(text)
        pieces.clear()
        linked.clear()
        if text:
            lines.append(_Line(text, share))

    body = root.find("body")
    for event, el in lxml.etree.iterwalk(body if body is not None else root, ("start", "end")):
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if event == "start":
            if tag in _BLOCK or tag == "br":
                flush()
            if el is anchor:
                flush()
                anchor_at = len(lines)
            if tag == "a":
                link_depth += 1
            title_attr = el.get("title") if tag else None
            if title_attr and re.search(r"date|time", _classes(el)):
                flush()
                lines.append(_Line(normalize_text(title_attr), False))
            if el.text and tag:
                pieces.append(el.text)
                if link_depth:
                    linked.append(el.text)
        else:
            if tag == "a":
                link_depth -= 1
            if tag in _BLOCK:
                flush()
            if el.tail:
                pieces.append(el.tail)
                if link_depth:
                    linked.append(el.tail)
    flush()
    return lines, anchor_at


# ---------------------------------------------------------------- dates

_HAS_TIME = re.compile(r"\d{1,2}\s?[:h]\s?\d{2}(?!\d)|T\d{2}:\d{2}", re.I)
_HAS_DATE = re.compile(r"\d{1,2}[/.-]\d{1,2}|\d{4}-\d{2}-\d{2}")
_DATE_BEFORE, _DATE_AFTER = 6, 25
# Dates inside links are other articles' dates, except right under the title
# where some CMSs wrap their own date in a permalink.
_LINKED_DATE_REACH = 3


def _meta_date(root: Any, ld: list[dict[str, Any]]) -> str:
    candidates = [
        _meta(root, "article:published_time", "og:published_time"),
        _jsonld_value(ld, "datePublished"),
        _meta(root, "datePublished", "pubdate", "publishdate", "date", "dc.date.issued"),
    ]
    candidates += [_clean(v) for v in root.xpath("//*[@itemprop='datePublished']/@datetime")]
    candidates += [_clean(v) for v in root.xpath("//time[@pubdate]/@datetime")]
    return next((c for c in candidates if _HAS_DATE.search(c)), "")


def _text_date(
    lines: list[_Line], at: int, now: datetime, tz: ZoneInfo
) -> tuple[datetime, bool] | None:
    """The dated line closest to the title (after it preferred); link lists ignored."""
    start = max(0, at - _DATE_BEFORE) if at >= 0 else 0
    stop = at + _DATE_AFTER if at >= 0 else min(len(lines), 60)
    best: tuple[int, datetime, bool] | None = None
    for i in range(start, min(stop, len(lines))):
        line = lines[i]
        near = at >= 0 and abs(i - at) <= _LINKED_DATE_REACH
        if (line.in_link and not near) or len(line.text) > 120:
            continue
        if not _HAS_TIME.search(line.text):
            continue
        if looks_like_header_clock(line.text):
            continue
        parsed = parse_vietnamese_datetime(line.text, now=now, tz=tz)
        if parsed is None:
            continue
        distance = (i - at) if i >= at else 2 * (at - i)
        if best is None or distance < best[0]:
            best = (distance, parsed.value, parsed.inferred_year)
    return (best[1], best[2]) if best else None


def _published(
    root: Any, ld: list[dict[str, Any]], lines: list[_Line], at: int, now: datetime, tz: ZoneInfo
) -> tuple[datetime | None, bool]:
    """Metadata with a time of day wins unless the visible date agrees with it to the minute."""
    shown = _text_date(lines, at, now, tz)
    meta_text = _meta_date(root, ld)
    meta = parse_vietnamese_datetime(meta_text, now=now, tz=tz) if meta_text else None
    if meta is not None and _HAS_TIME.search(meta_text):
        if shown and abs(shown[0] - meta.value) < timedelta(minutes=2):
            return shown
        return meta.value, meta.inferred_year
    if shown:
        return shown
    if meta is not None:
        return meta.value, meta.inferred_year
    return None, False


# ---------------------------------------------------------------- category, lead, author

_CRUMB = re.compile(r"breadcrumb|crumb|cate|navi|location|folder|menu_?path", re.I)
_HOME = frozenset({"trang chủ", "home", "trang chu", "tin tức", ""})
_GENERIC_SECTIONS = frozenset({"news", "tin tuc", "article"})


def _category(root: Any, ld: list[dict[str, Any]]) -> str:
    for el in root.xpath("//*[@class or @id]"):
        if not _CRUMB.search(_classes(el)) or el.tag in ("body", "html"):
            continue
        names = [_clean(a.text_content()) for a in el.xpath(".//a")]
        names = [n for n in names if n.casefold() not in _HOME and len(n) < 40]
        if 1 <= len(names) <= 4:
            return " > ".join(dict.fromkeys(names))
    for value in (_meta(root, "article:section"), _jsonld_value(ld, "articleSection")):
        if value and slugify(value).replace("-", " ") not in _GENERIC_SECTIONS and "," not in value:
            return value
    return ""


_LEAD = re.compile(r"sapo|lead|summary|description|short_?intro|excerpt|chapeau", re.I)
_NOT_LEAD = re.compile(r"related|other|item|box|list|title|subject|likes|more", re.I)
_MIN_LEAD = 40
_MIN_FIRST = 20
_SEEN_PREFIX = 50


def _first_paragraph(lines: list[_Line], at: int, title: str) -> str:
    """The first prose line under the title: where the sapo sits when nothing marks it."""
    for line in lines[at + 1 : at + 1 + _DATE_AFTER] if at >= 0 else []:
        text = line.text
        if line.in_link or len(text) < _MIN_FIRST or text == title or _HAS_TIME.search(text):
            continue
        if len(text.split()) >= 4:
            return text
    return ""


def _lead(root: Any, title: str, body: str, lines: list[_Line], at: int) -> str:
    for el in root.xpath("//*[@class or @id or @itemprop]"):
        marks = f"{_classes(el)} {el.get('itemprop', '')}"
        if not _LEAD.search(marks) or _NOT_LEAD.search(marks) or el.tag in ("meta", "link"):
            continue
        text = _clean(el.text_content())
        if len(text) >= _MIN_LEAD and text != title:
            return text
    # Descriptions count only when the page shows them: SEO text such as
    # "lo luyen thi cong chuc - Làng Thi cử..." is written for crawlers, not readers.
    visible = " ".join(line.text for line in lines).casefold()
    for name in ("og:description", "description"):
        described = _meta(root, name)
        if len(described) >= _MIN_LEAD and described != title:
            if described[:_SEEN_PREFIX].casefold() in visible:
                return described
        first = _first_paragraph(lines, at, title)
        if first:
            return first
    return next((p for p in body.split("\n") if len(p) >= _MIN_LEAD), "")


_BYLINE = re.compile(r"author|byline|tacgia|tac-gia|signature", re.I)


def _author(root: Any, ld: list[dict[str, Any]]) -> str | None:
    for el in root.xpath("//*[@class or @id]"):
        if _BYLINE.search(_classes(el)) and el.tag not in ("meta", "link"):
            text = _clean(el.text_content())
            if 2 <= len(text) <= 60:
                return text
    value = _jsonld_value(ld, "author") or _meta(root, "author", "article:author")
    if value and not value.casefold().startswith("theo ") and "." not in value.split()[-1]:
        return value
    return None


# ---------------------------------------------------------------- body

_PARA_MIN = 30


def _fallback_body(root: Any) -> str:
    """Paragraphs of the element holding the most paragraph text (when trafilatura fails)."""
    scores: dict[Any, int] = {}
    for p in root.xpath("//p"):
        text = _clean(p.text_content())
        parent = p.getparent()
        if len(text) >= _PARA_MIN and parent is not None:
            scores[parent] = scores.get(parent, 0) + len(text)
    if not scores:
        return ""
    best = max(scores, key=lambda el: scores[el])
    paras = [_clean(p.text_content()) for p in best.xpath("./p")]
    return "\n".join(p for p in paras if p)


def _body(text: str, url: str, root: Any) -> str:
    # No deduplicate=True: trafilatura keeps that cache process-wide, so the
    # second extraction of the same page (a re-poll, a test) would come back empty.
    extracted = trafilatura.extract(text, url=url, include_comments=False, include_tables=False)
    body = normalize_text(extracted or "", keep_newlines=True)
    fallback = _fallback_body(root)
    return fallback if len(fallback) > len(body) else body


def _image(root: Any, base: str) -> str | None:
    value = _meta(root, "og:image", "twitter:image")
    return urljoin(base, value) if value else None


def _canonical(root: Any, url: str) -> str:
    hrefs = [
        h
        for h in root.xpath(
            "//link[@href and translate(@rel, 'CANONICAL', 'canonical') = 'canonical']/@href"
        )
        if _clean(h)
    ]
    candidate = _clean(hrefs[0]) if hrefs else _meta(root, "og:url")
    return canonicalize_url(urljoin(url, candidate) if candidate else url)


# ---------------------------------------------------------------- public API


def extract_generic(
    content: bytes | str,
    *,
    url: str,
    now: datetime,
    tz: ZoneInfo,
    summary_chars: int = 400,
    content_type: str | None = None,
) -> ExtractedArticle:
    """Extract one article from a page of an unknown site; ExtractionError if it is not one."""
    text = _text(content, content_type)
    root = _parse(text, url)
    ld = _jsonld(root)
    for junk in root.xpath("//script|//style|//noscript|//template|//select|//comment()"):
        if junk.getparent() is not None:  # a comment may sit outside <html>
            junk.drop_tree()
    title, title_el = _title(root, ld)
    if not title:
        raise ExtractionError("no title found", url=url)
    lines, at = _lines(root, title_el)
    body = _body(text, url, root)
    if len(body) < _MIN_BODY_CHARS or _looks_like_listing(root, lines, at, url):
        raise ExtractionError("no article body found (listing or junk page)", url=url)
    published, inferred = _published(root, ld, lines, at, now, tz)
    category = _category(root, ld)
    lead = _lead(root, title, body, lines, at)
    return ExtractedArticle(
        url=url,
        canonical_url=_canonical(root, url),
        title=title,
        category=category,
        category_slug=slugify(category),
        published_at=published,
        date_inferred=inferred,
        summary=summarize(lead, summary_chars),
        body=body,
        image=_image(root, url),
        author=_author(root, ld),
    )


_LISTING_WINDOW = 20
_LISTING_LINK_SHARE = 0.8


def _looks_like_listing(root: Any, lines: list[_Line], at: int, url: str) -> bool:
    """A home or section page: the site root, a title known only from ``<title>``,
    or text under the title that is mostly links to other pages."""
    if urlsplit(url).path in ("", "/") or (at < 0 and not _meta(root, "og:title")):
        return True
    window = lines[max(at, 0) : max(at, 0) + _LISTING_WINDOW]
    total = sum(len(line.text) for line in window)
    linked = sum(len(line.text) for line in window if line.in_link)
    return total == 0 or linked / total >= _LISTING_LINK_SHARE


_ARTICLE_END = re.compile(r"\.(html?|aspx|chn|tpo|htm|vnp|ldo)$", re.I)
_LONG_ID = re.compile(r"\d{5,}")
_NOT_ARTICLE = re.compile(
    r"/(tag|tags|chu-de|tim-kiem|search|video|videos|login|dang-nhap|register|dang-ky"
    r"|static|images?|img|css|js|rss|feed|author|tac-gia|category|chuyen-muc)(/|$|\.)"
    r"|\.(jpe?g|png|gif|webp|svg|pdf|css|js|xml|rss|mp4|mp3|zip)$",
    re.I,
)
_MIN_SLUG_WORDS = 4


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def _article_path(path: str) -> bool:
    """Paths that look like one article: a long hyphenated slug or a long numeric id."""
    if not path or path == "/" or _NOT_ARTICLE.search(path):
        return False
    last = path.rstrip("/").rsplit("/", 1)[-1]
    stem = _ARTICLE_END.sub("", last)
    long_slug = stem.count("-") + 1 >= _MIN_SLUG_WORDS
    if _ARTICLE_END.search(last):
        return long_slug or bool(_LONG_ID.search(last))
    return long_slug or bool(_LONG_ID.search(path))


def discover_generic_links(content: bytes | str, *, base_url: str) -> list[str]:
    """Article URLs linked from a listing or home page, canonicalized, in page order."""
    root = _parse(_text(content, None), base_url)
    bases = root.xpath("//base/@href")
    base = urljoin(base_url, _clean(bases[0])) if bases else base_url
    home = _host(base_url)
    found: dict[str, None] = {}
    for href in root.xpath("//a/@href"):
        raw = str(href).strip()
        if not raw or raw.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        link = canonicalize_url(urljoin(base, raw))
        parts = urlsplit(link)
        if parts.scheme in ("http", "https") and _host(link) == home and _article_path(parts.path):
            found.setdefault(link, None)
    return list(found)
