"""Reading an unknown page: decode, parse, and look up metadata the way every field needs it.

The zero-config modules (:mod:`.meta`, :mod:`.published`, :mod:`.text`,
:mod:`.links`) all start from the parsed tree these helpers return, so they
agree on what "the page's text" and "its metadata" mean: NFC, single-spaced,
with double-escaped entities undone.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import lxml.etree
import lxml.html

from news.errors import ExtractionError
from news.extract.charset import decode_html
from news.text import normalize_text

__all__ = ["classes", "clean", "jsonld", "jsonld_value", "meta", "page_text", "parse", "tag_of"]

_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
# Control characters and lone surrogates make lxml refuse the whole document.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def page_text(content: bytes | str, content_type: str | None) -> str:
    """The page as text lxml accepts: decoded, XML declaration and bad characters dropped."""
    raw = decode_html(content, content_type) if isinstance(content, bytes) else content
    return _BAD_CHARS.sub("", _XML_DECL.sub("", raw))


def parse(text: str, url: str) -> Any:
    """The page's element tree; ExtractionError (with the URL) when it is not HTML."""
    if not text.strip():
        raise ExtractionError("empty page", url=url)
    try:
        return lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ExtractionError(f"not an HTML page: {exc}", url=url) from exc


def clean(value: object) -> str:
    """NFC single-spaced text; stray double-escaped entities ("&amp;quot;") undone."""
    return normalize_text(html.unescape(str(value))) if value is not None else ""


def tag_of(el: Any) -> str:
    """Lower-case tag name; "" for comments and processing instructions.

    Old ASP.NET pages write ``<TD>``/``<SPAN>``; lxml keeps the case it was given.
    """
    return el.tag.lower() if isinstance(el.tag, str) else ""


def classes(el: Any) -> str:
    """Class and id together, lower-cased: CMSs mark roles in either ("lblTitle", "title")."""
    return f"{el.get('class', '')} {el.get('id', '')}".lower()


def meta(root: Any, *names: str) -> str:
    """First non-empty ``<meta>`` content for any of ``names`` (property, name, itemprop)."""
    for name in names:
        for attr in ("property", "name", "itemprop"):
            for value in root.xpath(f"//meta[@{attr}=$n]/@content", n=name):
                text = clean(value)
                if text:
                    return text
    return ""


def jsonld(root: Any) -> list[dict[str, Any]]:
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


def jsonld_value(objects: list[dict[str, Any]], key: str) -> str:
    """First usable text for ``key``; ``{"name": ...}`` objects and lists unwrapped."""
    for obj in objects:
        value = obj.get(key)
        if isinstance(value, dict):
            value = value.get("name")
        if isinstance(value, list) and value:
            value = value[0].get("name") if isinstance(value[0], dict) else value[0]
        if isinstance(value, str) and value.strip():
            return clean(value)
    return ""
