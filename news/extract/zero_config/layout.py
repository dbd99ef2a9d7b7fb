"""The page flattened into the lines a reader sees, anchored at the title.

The date and the sapo of an unknown page are found by position, not by class
names we cannot know in advance: they sit just under the title. So the body is
walked once, block elements break lines the way a browser does, each line
remembers whether it is mostly link text (a list of other articles), and the
index of the line where the title element starts is returned alongside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import lxml.etree

from news.extract.zero_config.lookup import classes, tag_of
from news.text import normalize_text

__all__ = ["HAS_TIME", "UNDER_TITLE", "Line", "page_lines"]

#: A time of day ("14:46", "9h30") or an ISO stamp's time part.
HAS_TIME = re.compile(r"\d{1,2}\s?[:h]\s?\d{2}(?!\d)|T\d{2}:\d{2}", re.I)
#: How many lines under the title still belong to its header (date, sapo).
UNDER_TITLE = 25

_BLOCK = frozenset(
    "address article aside blockquote body center dd div dl dt footer form h1 h2 h3 h4 h5 h6 "
    "header hr li main nav ol p section table td th tr ul".split()
)
_UPDATED = re.compile(r"updated|modified", re.I)
_DATED = re.compile(r"date|time")


@dataclass(slots=True)
class Line:
    """One visible line; ``in_link`` when links make up most of it."""

    text: str
    in_link: bool


def _machine_date(el: Any, tag: str) -> str:
    """A date the element carries for machines, read as one more line of the page.

    WordPress themes print ``<time class="entry-date published" datetime="...T16:56">``
    showing only "13/03/2023"; other CMSs put the full stamp in a ``title``
    tooltip of a date-classed element. A ``time`` marked as the last update is
    not the publication date, so it is skipped.
    """
    if not tag:
        return ""
    marks = classes(el)
    stamp = el.get("datetime") if tag == "time" else None
    if stamp:
        published = "publish" in marks or not _UPDATED.search(marks)
        return normalize_text(stamp) if published else ""
    tooltip = el.get("title")
    if tooltip and _DATED.search(marks):
        return normalize_text(tooltip)
    return ""


def page_lines(root: Any, anchor: Any) -> tuple[list[Line], int]:
    """Visible lines of the body and the index of the line where ``anchor`` starts (-1: none)."""
    lines: list[Line] = []
    pieces: list[str] = []
    linked: list[str] = []
    link_depth = 0
    anchor_at = -1

    def flush() -> None:
        text = normalize_text("".join(pieces))
        share = len(normalize_text("".join(linked))) * 2 > len(text)
        pieces.clear()
        linked.clear()
        if text:
            lines.append(Line(text, share))

    body = root.find("body")
    for event, el in lxml.etree.iterwalk(body if body is not None else root, ("start", "end")):
        tag = tag_of(el)
        if event == "start":
            if tag in _BLOCK or tag == "br":
                flush()
            if el is anchor:
                flush()
                anchor_at = len(lines)
            if tag == "a":
                link_depth += 1
            stamp = _machine_date(el, tag)
            if stamp:
                flush()
                lines.append(Line(stamp, False))
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
