"""The article's own text on an unknown page: its body and its lead (sapo).

trafilatura finds bodies well on modern markup; on table-layout portals it
sometimes returns every cell of the page, or nothing, so its answer is cut to
what follows the title and compared with the plainest alternative (the element
holding the most paragraph text). The lead is what Vietnamese papers print in
bold under the title: an element marked sapo/lead/summary, else a description
the page also shows, else the first prose line under the title.
"""

from __future__ import annotations

import re
from typing import Any

import trafilatura

from news.extract.zero_config.layout import HAS_TIME, UNDER_TITLE, Line
from news.extract.zero_config.lookup import classes, clean, meta, tag_of
from news.text import normalize_text

__all__ = ["SEEN_PREFIX", "body_text", "lead_text"]

#: How much of a text must be found elsewhere to count as "the same text".
SEEN_PREFIX = 50
_PARA_MIN = 30


def _fallback_body(root: Any) -> str:
    """Paragraphs of the element holding the most paragraph text (when trafilatura fails)."""
    scores: dict[Any, int] = {}
    for p in root.xpath("//p"):
        text = clean(p.text_content())
        parent = p.getparent()
        if len(text) >= _PARA_MIN and parent is not None:
            scores[parent] = scores.get(parent, 0) + len(text)
    if not scores:
        return ""
    best = max(scores, key=lambda el: scores[el])
    paras = [clean(p.text_content()) for p in best.xpath("./p")]
    return "\n".join(p for p in paras if p)


def _after_title(body: str, title: str) -> str:
    """The body from the line after the title on, when trafilatura took the whole page.

    On table-layout pages trafilatura sometimes returns every cell (header clock,
    menu, breadcrumb, title, counters); a reader's article starts under the title.
    Only a title in the first half counts: later it is a "related" link to itself.
    """
    paras = body.split("\n")
    for i, para in enumerate(paras[: len(paras) // 2 + 1]):
        if para == title:
            return "\n".join(paras[i + 1 :]).strip()
    return body


def body_text(text: str, url: str, root: Any, title: str) -> str:
    """Body paragraphs, one per line: trafilatura's, or the densest ``<p>`` block if longer."""
    # No deduplicate=True: trafilatura keeps that cache process-wide, so the
    # second extraction of the same page (a re-poll, a test) would come back empty.
    extracted = trafilatura.extract(text, url=url, include_comments=False, include_tables=False)
    body = _after_title(normalize_text(extracted or "", keep_newlines=True), title)
    fallback = _fallback_body(root)
    return fallback if len(fallback) > len(body) else body


_LEAD = re.compile(r"sapo|lead|summary|description|short_?intro|excerpt|chapeau", re.I)
_NOT_LEAD = re.compile(r"related|other|item|box|list|title|subject|likes|more", re.I)
_MIN_LEAD = 40
_MIN_FIRST = 20
_MIN_FIRST_WORDS = 4


def _first_paragraph(lines: list[Line], at: int, title: str) -> str:
    """The first prose line under the title: where the sapo sits when nothing marks it."""
    for line in lines[at + 1 : at + 1 + UNDER_TITLE] if at >= 0 else []:
        text = line.text
        if line.in_link or len(text) < _MIN_FIRST or text == title or HAS_TIME.search(text):
            continue
        if len(text.split()) >= _MIN_FIRST_WORDS:
            return text
    return ""


def _marked_lead(root: Any, title: str) -> str:
    for el in root.xpath("//*[@class or @id or @itemprop]"):
        marks = f"{classes(el)} {el.get('itemprop', '')}"
        if not _LEAD.search(marks) or _NOT_LEAD.search(marks) or tag_of(el) in ("meta", "link"):
            continue
        text = clean(el.text_content())
        if len(text) >= _MIN_LEAD and text != title:
            return text
    return ""


def _shown_description(root: Any, name: str, title: str, visible: str) -> str:
    """A meta description, if the page also shows it to readers.

    SEO text such as "lo luyen thi cong chuc - Làng Thi cử..." is written for
    crawlers, not readers, and is no lead.
    """
    described = meta(root, name)
    if len(described) >= _MIN_LEAD and described != title:
        if described[:SEEN_PREFIX].casefold() in visible:
            return described
    return ""


def lead_text(root: Any, title: str, body: str, lines: list[Line], at: int) -> str:
    """The sapo: marked element, shown og:description, first line under the title,
    shown description, first long body paragraph, in that order."""
    visible = " ".join(line.text for line in lines).casefold()
    return (
        _marked_lead(root, title)
        or _shown_description(root, "og:description", title, visible)
        or _first_paragraph(lines, at, title)
        or _shown_description(root, "description", title, visible)
        or next((p for p in body.split("\n") if len(p) >= _MIN_LEAD), "")
    )
