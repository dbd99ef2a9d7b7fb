"""Which element of a page holds the article's body: text weighed in one pass.

The body is the element holding the most article text (paragraph-long runs
that are not link text, not the title, not the lead) for the least of
anything else. Weighing every candidate element by laying out its text would
cost one pass over its subtree each, quadratic on deep pages; instead every
page's text is cut once into units, and each element's weight is the sum of
the units under it, computed bottom-up in a single walk.

A unit is a largest subtree without block elements (a paragraph with its
links and bold words, a caption), or a piece of text sitting directly in a
block that has blocks inside it (old layouts write ``text<br>text`` in a cell).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from news.discovery.landmarks import Landmark, quick_text
from news.discovery.scoring import is_chrome_line

__all__ = ["pick_body"]

_BLOCKS = frozenset(
    "address article aside blockquote body caption center dd details div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr html legend li main nav ol "
    "p pre section summary table tbody td tfoot th thead tr ul br".split()
)
_BODY_TAGS = frozenset({"div", "article", "section", "td", "main", "span", "table", "font"})
#: Characters from which a unit is a paragraph (when it is mostly not link text).
_PARAGRAPH = 50
#: What a character of other text (menus, captions, links) costs a body candidate.
_OTHER_TEXT_COST = 0.5
#: The least share of the page's article text a body candidate must hold on every page.
_MIN_SHARE = 0.3


def _tag(el: Any) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _weigh_text(text: str, linked: int) -> tuple[int, int]:
    """(article characters, characters) of one unit: a paragraph, not links, not chrome."""
    size = len(text)
    article = size >= _PARAGRAPH and linked < 0.6 * size and not is_chrome_line(text)
    return (size if article else 0), size


def text_weights(root: Any, excluded: Sequence[Any]) -> dict[Any, tuple[int, int]]:
    """Per element: (article-text characters, all characters) in its subtree.

    Text inside `excluded` elements (the title, the lead) is counted as other text.
    """
    elements = [el for el in root.iter() if _tag(el)]
    has_block: dict[Any, bool] = {}
    for el in reversed(elements):  # descendants before their ancestors
        has_block[el] = any(_tag(c) in _BLOCKS or has_block.get(c, False) for c in el)
    skip: set[Any] = {d for ex in excluded for d in ex.iter()}
    weights: dict[Any, tuple[int, int]] = {}
    for el in reversed(elements):
        if not has_block[el]:
            text = quick_text(el)
            linked = sum(len(quick_text(a)) for a in el.iter("a"))
            long, total = _weigh_text(text, linked)
        else:
            long = total = 0
            pieces = [el.text] + [c.tail for c in el]
            for piece in pieces:
                piece_long, piece_total = _weigh_text(" ".join((piece or "").split()), 0)
                long, total = long + piece_long, total + piece_total
            for child in el:
                child_long, child_total = weights.get(child, (0, 0))
                long, total = long + child_long, total + child_total
        weights[el] = (0, total) if el in skip else (long, total)
    return weights


def pick_body(
    marks: Sequence[Landmark], roots: Sequence[Any], fields: Sequence[Landmark]
) -> Landmark | None:
    """The landmark with the most article text for the least of anything else.

    Per page, its article-text characters less half its other characters,
    over the page's article text; the mean over the pages. A whole-page
    wrapper holds all the article text but the menus and sidebars too; the
    paragraphs' own container holds it alone. `fields` (title, lead) are no body text.
    """
    weights = [text_weights(root, [f.elements[i] for f in fields]) for i, root in enumerate(roots)]
    page_totals = [max(w.get(root, (0, 0))[0], 1) for w, root in zip(weights, roots, strict=True)]
    best: tuple[float, int, Landmark] | None = None
    for index, mark in enumerate(marks):
        if mark.tag not in _BODY_TAGS or not mark.varies:
            continue
        counts = [w.get(el, (0, 0)) for w, el in zip(weights, mark.elements, strict=True)]
        if min(c[0] / t for c, t in zip(counts, page_totals, strict=True)) < _MIN_SHARE:
            continue
        density = sum(
            (long - _OTHER_TEXT_COST * (total - long)) / page
            for (long, total), page in zip(counts, page_totals, strict=True)
        ) / len(roots)
        if best is None or density > best[0]:
            best = (density, -index, mark)
    return best[2] if best else None
