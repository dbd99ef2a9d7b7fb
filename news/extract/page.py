"""What every extractor reads off a page: its tree, its addresses, its metadata, its lines.

The portal landmarks, the site profiles and zero-config all start here, so
they agree on what a page's text is (decoded by :mod:`news.extract.charset`,
the XML declaration and characters lxml refuses dropped), what is no HTML at
all (:class:`~news.errors.ExtractionError`, naming the page), and which
tracking parameters a stored URL never keeps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import lxml.etree
import lxml.html

from news.errors import ExtractionError
from news.extract.charset import decode_html
from news.text import normalize_text

__all__ = [
    "Line",
    "block_lines",
    "canonical_url",
    "canonicalize_url",
    "link_base",
    "meta",
    "page_text",
    "parse",
    "parse_html",
]

# ---------------------------------------------------------------- text and tree

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
# Control characters and lone surrogates make lxml refuse the whole document.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_JUNK = "//script|//style|//noscript|//template|//comment()"


def page_text(
    content: bytes | str, content_type: str | None = None, *, url: str | None = None
) -> str:
    """The page as text lxml accepts: decoded (see :func:`news.extract.charset.decode_html`),
    XML declaration and bad characters dropped."""
    raw = decode_html(content, content_type, url=url) if isinstance(content, bytes) else content
    return _BAD_CHARS.sub("", _XML_DECL.sub("", raw))


def parse(text: str, url: str) -> Any:
    """The page's element tree; ExtractionError (with the URL) when it is not HTML."""
    if not text.strip():
        raise ExtractionError("empty page", url=url)
    try:
        return lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"not an HTML page: {exc}", url=url) from exc


def parse_html(data: str | bytes, url: str) -> Any:
    """The page's element tree without scripts, styles and comments (see :func:`parse`)."""
    root = parse(page_text(data, url=url), url)
    for junk in root.xpath(_JUNK):
        if junk.getparent() is not None:  # a comment may sit before or after <html>
            junk.drop_tree()
    return root


# ---------------------------------------------------------------- addresses

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


def link_base(root: Any, url: str) -> str:
    """What the page's relative links resolve against: its ``<base href>``, else `url`."""
    base = root.xpath("//base/@href")
    return urljoin(url, str(base[0]).strip()) if base else url


def meta(root: Any, *names: str) -> str:
    """First non-empty ``<meta property|name>`` content for any of `names`, in NFC."""
    for name in names:
        for attr in ("property", "name"):
            for value in root.xpath(f"//meta[@{attr}=$n]/@content", n=name):
                text = normalize_text(str(value))
                if text:
                    return text
    return ""


def canonical_url(root: Any, url: str) -> str:
    """``<link rel=canonical>``, else ``og:url``, else `url`; absolute and canonicalized."""
    hrefs = root.xpath(
        "//link[contains(concat(' ', translate(@rel, 'CANONICAL', 'canonical'), ' '),"
        " ' canonical ')]/@href"
    )
    candidate = str(hrefs[0]).strip() if hrefs else meta(root, "og:url")
    return canonicalize_url(urljoin(url, candidate) if candidate else url)


# ---------------------------------------------------------------- lines

_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr html legend li main nav ol "
    "p pre section summary table tbody td tfoot th thead tr ul".split()
)


@dataclass(frozen=True, slots=True)
class Line:
    """A laid-out line of text, or an image (``image`` set, ``text`` empty)."""

    text: str
    image: str | None = None


def _image_src(el: Any) -> str | None:
    for attr in ("src", "data-src", "data-original"):
        value = el.get(attr)
        if value and not str(value).startswith("data:"):
            return str(value).strip()
    return None


def block_lines(el: Any, *, images: bool = False) -> list[Line]:
    """Text of `el` broken into lines the way a browser breaks block elements.

    With `images`, each <img> becomes a line of its own carrying its source,
    so callers can keep pictures in reading order. Shared by the landmark
    extractor and the selector profiles.
    """
    lines: list[Line] = []
    pieces: list[str] = []

    def flush() -> None:
        text = normalize_text("".join(pieces))
        pieces.clear()
        if text:
            lines.append(Line(text))

    for event, node in lxml.etree.iterwalk(el, ("start", "end")):
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        if event == "start":
            if tag in _BLOCK_TAGS or tag == "br":
                flush()
            if images and tag == "img":
                flush()
                src = _image_src(node)
                if src:
                    lines.append(Line("", image=src))
            if node.text and tag:
                pieces.append(node.text)
        else:
            if tag in _BLOCK_TAGS:
                flush()
            if node is not el and node.tail:
                pieces.append(node.tail)
    flush()
    return lines
