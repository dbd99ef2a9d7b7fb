"""Looking things up on an unknown page the way every zero-config field needs it.

The zero-config modules (:mod:`.meta`, :mod:`.published`, :mod:`.text`,
:mod:`.layout`) read the tree :func:`news.extract.page.parse` returns through
these helpers, so they agree on what an element's text and the page's metadata
mean: NFC, single-spaced, with double-escaped entities undone.
"""

from __future__ import annotations

import html
import json
from typing import Any

from news.text import normalize_text

__all__ = ["classes", "clean", "jsonld", "jsonld_value", "meta", "tag_of"]


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
