"""The landmarks of a site's article pages: CSS paths that every sample page has.

A selector profile names elements by tag and class or id (``h1.title-detail``,
``#ctl00_Main_lblDate``). Those names are the CMS's template, so they are the
same on every article of a site, while the text inside them changes from one
article to the next. This module lists, for a few pages of one site, the CSS
paths found on all of them and what each holds on each page;
:mod:`news.discovery.derive` picks the fields from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cssselect import SelectorError
from lxml.cssselect import CSSSelector

from news.extract.page import block_lines
from news.text import fold_diacritics, normalize_text

__all__ = [
    "Landmark",
    "common_landmarks",
    "css_names",
    "element_text",
    "fold",
    "landmark",
    "quick_text",
    "select_all",
    "select_first",
]

#: Class and id values a CSS selector can name without escaping, and that are
#: no per-article value (a long run of digits is an id, not a template name).
_NAME = re.compile(r"^[A-Za-z_][\w-]*$")
_VARYING = re.compile(r"\d{3,}")
#: Elements worth a landmark even without a class or an id (their parent's name goes first).
_SPACES = re.compile(r"[\s\u200b\ufeff]+")
#: A path of one tag and at most one id or class per step (and a child step):
#: its first match is the first element a document-order walk names so.
_SIMPLE = re.compile(r"^[a-z][a-z0-9]*(?:[#.][A-Za-z_][\w-]*)?(?: > [a-z][a-z0-9]*)?$")
_TAG = re.compile(r"^[a-z][a-z0-9]*$")
_BARE = frozenset({"h1", "h2", "h3", "time", "article"})
_SKIP = frozenset({"html", "head", "script", "style", "link", "br", "hr", "input", "option"})


@dataclass(frozen=True)
class Landmark:
    """A CSS path found on every sample page; `elements` its first match on each."""

    css: str
    tag: str
    elements: tuple[Any, ...]
    texts: tuple[str, ...]

    @property
    def varies(self) -> bool:
        """Different text on every page: article content, not the site's frame."""
        return all(self.texts) and len(set(self.texts)) == len(self.texts)

    @property
    def names(self) -> str:
        """The class and id words of the path, folded, for hints such as "sapo" or "date"."""
        return self.css.lower()


@lru_cache(maxsize=4096)
def _selector(css: str) -> CSSSelector:
    return CSSSelector(css, translator="html")


def select_first(root: Any, css: str) -> Any | None:
    """The first element `css` matches in `root` (what a profile reads), or None."""
    return next(iter(_selector(css)(root)), None)


def select_all(root: Any, css: str) -> list[Any]:
    """Every element `css` matches in `root`, in document order."""
    return list(_selector(css)(root))


@lru_cache(maxsize=8192)
def fold(text: str) -> str:
    """Single-spaced, lower-case, without diacritics: for comparing texts loosely."""
    return fold_diacritics(normalize_text(text)).lower()


def element_text(el: Any) -> str:
    """The element's visible text, single-spaced (its lines joined as a profile reads them)."""
    return normalize_text(" ".join(line.text for line in block_lines(el)))


def quick_text(el: Any) -> str:
    """The element's text with whitespace collapsed: cheap, for measuring and comparing.

    Unlike :func:`element_text` it does not lay the text out in lines, so it
    costs one pass over the subtree, not one per line; the page is NFC already.
    """
    return _SPACES.sub(" ", " ".join(el.itertext())).strip()


def css_names(el: Any) -> list[str]:
    """The CSS paths naming `el` by its own tag, id and classes."""
    tag = el.tag.lower()
    if not _TAG.match(tag):
        return []  # "fb:like", "g:plusone": no CSS type selector names them
    found: list[str] = []
    ident = str(el.get("id") or "")
    if ident and _NAME.match(ident) and not _VARYING.search(ident):
        found.append(f"{tag}#{ident}")
    classes = [c for c in str(el.get("class") or "").split() if _NAME.match(c)]
    classes = [c for c in classes if not _VARYING.search(c)]
    found.extend(f"{tag}.{c}" for c in classes)
    if len(classes) > 1:
        found.append(tag + "".join(f".{c}" for c in classes))
    return found


def _paths(root: Any) -> Iterator[tuple[str, Any]]:
    """Every CSS path naming an element of the page, with that element, in document order
    (tag + id or classes; bare headings, also under their parent's names; meta properties)."""
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag.lower() in _SKIP:
            continue
        for name in css_names(el):
            yield name, el
        if el.tag.lower() in _BARE:
            yield el.tag.lower(), el
            parent = el.getparent()
            if parent is not None and isinstance(parent.tag, str):
                for name in css_names(parent):
                    yield f"{name} > {el.tag.lower()}", el
    for meta in root.iter("meta"):
        prop = str(meta.get("property") or meta.get("itemprop") or "").strip()
        if prop and _NAME.match(prop.replace(":", "_")) and meta.get("content"):
            attr = "property" if meta.get("property") else "itemprop"
            yield f"meta[{attr}='{prop}']", meta


def _first_elements(root: Any) -> dict[str, Any]:
    """Each CSS path of the page with the first element it names, in one walk."""
    first: dict[str, Any] = {}
    for css, el in _paths(root):
        first.setdefault(css, el)
    return first


def _text_of(el: Any) -> str:
    if el.tag == "meta":
        return normalize_text(str(el.get("content") or ""))
    return quick_text(el)


def common_landmarks(roots: Sequence[Any], *, limit: int = 4000) -> list[Landmark]:
    """The CSS paths of the first page that every page has, with their first match on each.

    Page order; at most `limit` paths (a page with more is a forum, not an article).
    """
    if not roots:
        return []
    firsts = [_first_elements(root) for root in roots]
    marks: list[Landmark] = []
    for css in list(firsts[0])[:limit]:
        if not _SIMPLE.match(css):
            mark = landmark(roots, css)  # several classes, attributes: cssselect decides
            if mark is not None:
                marks.append(mark)
            continue
        # one name per step: the walk's first element is the selector's first match
        elements = [first.get(css) for first in firsts]
        if all(el is not None for el in elements):
            marks.append(_landmark(css, elements))
    return marks


def landmark(roots: Sequence[Any], css: str) -> Landmark | None:
    """`css` as a landmark of `roots`: None unless every page has it."""
    try:
        elements = [el for root in roots if (el := select_first(root, css)) is not None]
    except SelectorError:
        return None  # a name cssselect cannot read after all
    if not elements or len(elements) < len(roots):
        return None
    return _landmark(css, elements)


def _landmark(css: str, elements: Sequence[Any]) -> Landmark:
    return Landmark(
        css=css,
        tag=str(elements[0].tag).lower(),
        elements=tuple(elements),
        texts=tuple(_text_of(el) for el in elements),
    )
