"""Title, category, author, image and canonical URL of an unknown page.

Metadata alone misleads on Vietnamese sites (``og:title`` with an SEO suffix,
logos in ``<h1>``, ``article:section`` set to "News"), and markup alone is
unknowable in advance, so each field cross-checks one against the other:

* title: the first title-like element that the page's own title starts with,
  else ``og:title``, else the first non-logo ``<h1>``, else ``<title>`` minus its
  " - SiteName" suffix. The element is returned too: it anchors the layout;
* category: a breadcrumb (linked or plain text), WordPress ``rel="category"``,
  then ``article:section``/JSON-LD unless it is a placeholder;
* author: the byline printed after the body (:mod:`news.extract.byline`), else an
  element marked as the byline, else metadata that names a person.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from news.extract.byline import MAX_BYLINE, byline
from news.extract.page import canonicalize_url
from news.extract.zero_config.lookup import classes, clean, jsonld_value, meta, tag_of
from news.text import slugify

__all__ = ["author", "canonical_url", "category", "image", "printed_byline", "title"]

_SUFFIX = re.compile(r"\s+[-|–—:»]\s+[^-|–—:»]{2,60}$")
_LOGO = re.compile(r"logo|brand|site-?name", re.I)
_TITLE_MARK = re.compile(r"title|headline|tieu-?de", re.I)
_TITLE_TAGS = frozenset({"h1", "h2", "h3", "h4", "span", "div", "td", "p", "strong", "b", "font"})
_MIN_AGREEING = 8


def _is_logo(el: Any) -> bool:
    for node in [el, *el.iterancestors()][:3]:
        if _LOGO.search(classes(node)):
            return True
    return bool(el.xpath(".//img")) and not clean(el.text_content())


def _title_elements(root: Any) -> list[tuple[str, Any]]:
    """Title-like elements in page order: every h1, and anything classed or marked as a title.

    Old ASP.NET portals print the title in ``<SPAN id="lblTitle" CLASS="title">``
    with no heading at all, so a title mark counts on any text element; such
    elements are only trusted when they agree with the page's own title.
    """
    found: list[tuple[str, Any]] = []
    for el in root.iter():
        tag = tag_of(el)
        if tag not in _TITLE_TAGS:
            continue
        if tag != "h1" and not _TITLE_MARK.search(classes(el)) and el.get("itemprop") != "headline":
            continue
        text = clean(el.text_content())
        if text and not _is_logo(el):
            found.append((text, el))
    return found


def _agrees(heading: str, reference: str) -> bool:
    """The page title repeats the heading, maybe followed by a site or SEO suffix."""
    h, r = heading.casefold(), reference.casefold()
    if len(h) < _MIN_AGREEING or not r.startswith(h):
        return False
    rest = r[len(h) :]
    return not rest or not rest[0].isalnum()


def title(root: Any, ld: list[dict[str, Any]]) -> tuple[str, Any]:
    """The article title and its element (``None`` when it came from metadata only)."""
    og = meta(root, "og:title", "twitter:title")
    refs = [og, meta(root, "title"), jsonld_value(ld, "headline")]
    refs += [clean(t.text_content()) for t in root.xpath("//title")]
    refs = [r for r in refs if r]
    candidates = _title_elements(root)
    for text, el in candidates:
        if any(_agrees(text, ref) for ref in refs):
            return text, el
    if og:
        return og, None
    h1s = [(text, el) for text, el in candidates if tag_of(el) == "h1"]
    if h1s:
        return h1s[0]
    for ref in refs:
        stripped = _SUFFIX.sub("", ref)
        if stripped:
            return stripped, None
    return "", None


_CRUMB = re.compile(r"breadcrumb|crumb|cate|navi|location|folder|menu_?path", re.I)
_CRUMB_SEPARATORS = re.compile(r"\s*[»›>/|→]\s*")
_MAX_CRUMB_CHARS = 120
_MAX_CRUMBS = 4
_MAX_NAME = 40
_HOME = frozenset({"trang chủ", "home", "trang chu", "tin tức", ""})
_GENERIC_SECTIONS = frozenset({"news", "tin tuc", "article"})
_REL_CATEGORY = "//a[contains(concat(' ', normalize-space(@rel), ' '), ' category ')]"


def _crumb_names(el: Any) -> list[str]:
    """Section names of a breadcrumb: its links, or its text split at the separators.

    ASP.NET portals print the current section as a plain ``<SPAN>`` after
    "Trang chủ »", with no link to follow.
    """
    names = [clean(a.text_content()) for a in el.xpath(".//a")]
    if not names:
        text = clean(el.text_content())
        names = _CRUMB_SEPARATORS.split(text) if len(text) <= _MAX_CRUMB_CHARS else []
    return [n for n in names if n.casefold() not in _HOME and len(n) < _MAX_NAME]


def category(root: Any, ld: list[dict[str, Any]]) -> str:
    """The section path a reader sees ("Đời sống > Xã hội"); "" when the page shows none."""
    for el in root.xpath("//*[@class or @id]"):
        if not _CRUMB.search(classes(el)) or tag_of(el) in ("body", "html"):
            continue
        names = _crumb_names(el)
        if 1 <= len(names) <= _MAX_CRUMBS:
            return " > ".join(dict.fromkeys(names))
    # WordPress marks the post's own categories with rel="category tag".
    for a in root.xpath(_REL_CATEGORY):
        name = clean(a.text_content())
        if name and len(name) < _MAX_NAME:
            return name
    for value in (meta(root, "article:section"), jsonld_value(ld, "articleSection")):
        if value and slugify(value).replace("-", " ") not in _GENERIC_SECTIONS and "," not in value:
            return value
    return ""


_BYLINE = re.compile(r"author|byline|tacgia|tac-gia|signature", re.I)
#: "bởi Thu Hà" (WordPress), "Tác giả: …": the words before the name.
_BY = re.compile(r"^(?:bởi|by|tác giả\s*:?|người viết\s*:?)\s+", re.I)
#: How many lines at the end of the body may hold the byline (a source or share
#: line may follow it).
_TAIL = 3
_RIGHT = re.compile(r"text-align\s*:\s*right", re.I)


def _set_apart(root: Any) -> set[str]:
    """Short texts the page prints in bold or right-aligned, as bylines are."""
    found: set[str] = set()
    for el in root.xpath("//strong|//b|//*[@align]|//*[@style]"):
        tag = tag_of(el)
        right = str(el.get("align", "")).lower() == "right" or _RIGHT.search(el.get("style", ""))
        if tag in ("strong", "b") or right:
            text = clean(el.text_content())
            if text and len(text) <= MAX_BYLINE:
                found.add(text)
    return found


def printed_byline(root: Any, body: str, linked: set[str]) -> tuple[str | None, str]:
    """The byline printed after the body's last paragraph, and the body without it.

    trafilatura keeps the byline as a paragraph of its own, usually the last one
    but for a source or share line, or a list of related links (``linked``: the
    texts of the page's link lines), which are passed over.
    """
    paragraphs = body.split("\n")
    apart: set[str] | None = None
    seen = 0
    for i in range(len(paragraphs) - 1, 0, -1):
        line = paragraphs[i]
        if line in linked:
            continue
        seen += 1
        if seen > _TAIL:
            break
        if len(line) > MAX_BYLINE:
            continue
        apart = _set_apart(root) if apart is None else apart
        found = byline(line, set_apart=line in apart)
        if found is not None:
            return found, "\n".join(paragraphs[:i] + paragraphs[i + 1 :])
    return None, body


def author(root: Any, ld: list[dict[str, Any]]) -> str | None:
    """An element marked as the byline, else metadata unless it names a source ("Theo X")."""
    for el in root.xpath("//*[@class or @id]"):
        if _BYLINE.search(classes(el)) and tag_of(el) not in ("meta", "link"):
            text = _BY.sub("", clean(el.text_content()))
            if 2 <= len(text) <= MAX_BYLINE:
                return text
    value = jsonld_value(ld, "author") or meta(root, "author", "article:author")
    if value and not value.casefold().startswith("theo ") and "." not in value.split()[-1]:
        return value
    return None


def image(root: Any, base: str) -> str | None:
    """The share image (``og:image``), made absolute; ``None`` when the page names none."""
    value = meta(root, "og:image", "twitter:image")
    return urljoin(base, value) if value else None


def canonical_url(root: Any, url: str) -> str:
    """``<link rel=canonical>`` (any case), else ``og:url``, else the fetched URL; canonicalized."""
    hrefs = [
        h
        for h in root.xpath(
            "//link[@href and translate(@rel, 'CANONICAL', 'canonical') = 'canonical']/@href"
        )
        if clean(h)
    ]
    candidate = clean(hrefs[0]) if hrefs else meta(root, "og:url")
    return canonicalize_url(urljoin(url, candidate) if candidate else url)
