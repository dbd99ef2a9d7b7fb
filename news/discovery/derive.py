"""A selector profile for a site no profile fits, from the landmarks its articles share.

Every article page of a site comes out of one template, so the template's CSS
paths (``h1.title-detail``, ``#ctl00_Main_lblDate``) are on every page while
the text inside them changes from article to article. Given two or more
article pages of a site, :func:`derive_profile` looks at the paths all of them
have (:mod:`news.discovery.landmarks`) and picks, per field, the one whose
text varies between the pages (not the frame) and fits the field:

- title: a heading whose text is the page's headline (``og:title``, the
  article part of ``<title>``), an ``<h1>`` preferred;
- date: a short element (or ``<time>``, a ``meta``) whose text or
  ``datetime``/``content`` parses as a date on every page, a time of day preferred;
- body: the element holding most of the page's paragraph text, the tightest such;
- lead: an element of a sapo's length matching ``description``, or named like one
  (lead, sapo, summary, desc);
- category, author: short texts in elements named like them (breadcrumb,
  cate, author...); image: ``og:image`` when every page has it;
- drop: chrome inside the body: share bars, related-article boxes, link lists;
- ``article_id_pattern``: the numeric id shape the article URLs share;
- links: from a listing page, the containers holding links to article-shaped URLs.

The result is validated the way a config file is (building the
:class:`~config.profiles.SiteProfile`) and by reading every sample page with
it; a profile that cannot read them all is no proposal (None).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cssselect import SelectorError
from pydantic import ValidationError

from config.profiles import SiteProfile
from news.discovery.body import pick_body
from news.discovery.landmarks import (
    Landmark,
    common_landmarks,
    css_names,
    fold,
    landmark,
    quick_text,
    select_all,
)
from news.discovery.links import derive_links, id_pattern
from news.discovery.model import SamplePage
from news.discovery.scoring import HOME_LINKS, is_chrome_line
from news.errors import SourceError
from news.extract.dates import looks_like_header_clock, parse_vietnamese_datetime
from news.extract.page import meta, page_text, parse_html
from news.extract.profiles import extract_with_profile

__all__ = ["derive_profile"]

_DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_TITLE_HINT = re.compile(r"title|tieu-?de|headline|heading", re.I)
_DATE_HINT = re.compile(r"date|time|ngay|publish|created|posted", re.I)
_LEAD_HINT = re.compile(r"lead|sapo|summary|desc|intro|tom-?tat|chapeau|abstract|teaser", re.I)
_CATEGORY_HINT = re.compile(r"breadcrumb|cate|chuyen-?muc|cat-links|danh-?muc", re.I)
_SECTION_HINT = re.compile(r"section|folder|parent", re.I)
_AUTHOR_HINT = re.compile(r"author|tac-?gia|byline|writer|nguoi-?viet", re.I)
_CHROME_HINT = re.compile(
    r"share|social|related|lien-?quan|tinlienquan|tag|comment|binh-?luan|banner|ads?\b|"
    r"quang-?cao|print|rating|toolbar|navigation|\bnav|menu|footer|relate|other|readmore|"
    r"xem-?them|cung-?chuyen-?muc|facebook|like|vote|advert",
    re.I,
)
_MAX_DROPS = 12
#: Elements (in document order) within which a date counts as the title's.
_NEAR_TITLE = 300
_RELATIVE = re.compile(r"\btruoc\b|vua xong|hom qua|hom nay")
_INLINE = frozenset({"a", "b", "strong", "em", "i", "u", "font", "label"})


def derive_profile(
    pages: Sequence[SamplePage],
    *,
    name: str,
    listing: SamplePage | None = None,
    tz: ZoneInfo = _DEFAULT_TZ,
    now: datetime | None = None,
) -> SiteProfile | None:
    """A selector profile reading `pages` (articles of one site), or None when none does.

    Two or more pages are needed to tell the article from the frame; with one,
    any text counts as varying. `listing`, a listing page of the same site,
    gives the profile's ``links``.
    """
    moment = now or datetime.now(tz)
    parsed: list[tuple[SamplePage, str, Any]] = []
    for page in pages:
        try:
            text = page_text(page.content, page.content_type, url=page.url)
            parsed.append((page, text, parse_html(text, page.url)))
        except SourceError:
            continue
    if not parsed:
        return None
    roots = [root for _, _, root in parsed]
    marks = [m for m in common_landmarks(roots) if m.tag not in ("html", "body", "form")]
    title = _pick_title(marks, roots)
    if title is None:
        return None
    lead = _pick_lead(marks, roots, title)
    body = pick_body(marks, roots, [m for m in (title, lead) if m is not None])
    if body is None:
        return None
    date = _pick_date(marks, roots, title, tz, moment)
    category = _pick_short(marks, roots, _CATEGORY_HINT, links=True) or _pick_short(
        marks, roots, _SECTION_HINT, links=True
    )
    keep = [m for m in (title, date, lead, category) if m is not None]
    drop = _pick_drop(roots, body, keep)
    author = _pick_short(_outside(marks, roots, drop), roots, _AUTHOR_HINT, links=False)
    urls = [page.url for page, _, _ in parsed]
    pattern = id_pattern(urls)
    try:
        profile = SiteProfile(
            name=name,
            title=title.css,
            date=date.css if date else None,
            lead=lead.css if lead else None,
            body=body.css,
            category=category.css if category else None,
            author=author.css if author else None,
            image=_pick_image(roots, body),
            drop=drop,
            article_id_pattern=pattern,
            links=derive_links(listing, urls, pattern) if listing is not None else None,
        )
    except ValidationError:
        return None
    for page, text, _ in parsed:
        try:
            extract_with_profile(profile, text, url=page.url, now=moment, tz=tz)
        except (SourceError, SelectorError):
            return None
    return profile


# ---------------------------------------------------------------- fields


def _similarity(candidate: str, reference: str) -> float:
    """How much `candidate` is `reference`: 1 equal, a length ratio when one holds the other."""
    a, b = fold(candidate), fold(reference)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if len(a.split()) >= 3 and len(b.split()) >= 3 and (a.startswith(b) or b.startswith(a)):
        return max(0.8, min(len(a), len(b)) / max(len(a), len(b)))  # "Headline: Tin, Video"
    if a in b or b in a:
        return min(len(a), len(b)) / max(len(a), len(b))
    words_a, words_b = set(a.split()), set(b.split())
    return len(words_a & words_b) / len(words_a | words_b)


def _headlines(root: Any) -> list[str]:
    """What the page says its headline is: og:title, and the parts of <title> (3+ words).

    Both, because either can be the site's slogan on its own: some CMSs print
    one og:title on every page, others put the site first in <title>.
    """
    found = [meta(root, "og:title", "twitter:title")]
    titles = root.xpath("//title")
    if titles:
        parts = re.split(r"\s+[-|–—:»]\s+", titles[0].text_content())
        found.extend(part.strip() for part in parts if len(part.split()) >= 3)
    return [text for text in found if text]


def _best(
    marks: Sequence[Landmark], score: Callable[[Landmark], float], floor: float
) -> Landmark | None:
    scored = [(score(m), index, m) for index, m in enumerate(marks)]
    scored = [item for item in scored if item[0] >= floor]
    if not scored:
        return None
    return max(scored, key=lambda item: (item[0], -item[1]))[2]


def _pick_title(marks: Sequence[Landmark], roots: Sequence[Any]) -> Landmark | None:
    headlines = [_headlines(root) for root in roots]

    def score(mark: Landmark) -> float:
        if mark.tag == "meta" or not mark.varies:
            return -1.0
        if any(not 5 <= len(t) <= 300 for t in mark.texts):
            return -1.0
        match = sum(
            max((_similarity(text, h) for h in stated), default=0.0)
            for text, stated in zip(mark.texts, headlines, strict=True)
        ) / len(roots)
        if not any(headlines) and mark.tag in ("h1", "h2"):
            match = 0.7
        bonus = 0.15 * (mark.tag == "h1") + 0.1 * bool(_TITLE_HINT.search(mark.names))
        return match + bonus if match >= 0.6 else -1.0

    return _best(marks, score, 0.0)


def _stated_date(el: Any, text: str) -> str:
    return str(el.get("datetime") or el.get("content") or "") or text


def _pick_date(
    marks: Sequence[Landmark], roots: Sequence[Any], title: Landmark, tz: ZoneInfo, now: datetime
) -> Landmark | None:
    """A date on every page, different on each: with a time of day, named like a date,
    short, and near the title (sidebars and comment lists print dates too) preferred."""
    positions = [{el: i for i, el in enumerate(root.iter())} for root in roots]
    title_at = [pos.get(el, 0) for pos, el in zip(positions, title.elements, strict=True)]

    def score(mark: Landmark) -> float:
        if any(len(t) > 120 for t in mark.texts):
            return -1.0
        moments = []
        for el, text in zip(mark.elements, mark.texts, strict=True):
            if looks_like_header_clock(text) or _RELATIVE.search(fold(text)):
                return -1.0  # the page's clock, or "3 giờ trước": no publication moment
            parsed = parse_vietnamese_datetime(_stated_date(el, text), now=now, tz=tz)
            if parsed is None:
                return -1.0
            moments.append(parsed.value)
        if len(set(moments)) < len(moments):
            return -1.0  # the same moment on every page: the frame's clock
        timed = sum((m.hour, m.minute) != (0, 0) for m in moments) / len(moments)
        shortness = 0.1 * (1 - min(max(len(t) for t in mark.texts), 120) / 120)
        distance = max(
            abs(pos.get(el, 0) - at)
            for pos, el, at in zip(positions, mark.elements, title_at, strict=True)
        )
        near = 0.4 * max(0.0, 1 - distance / _NEAR_TITLE)
        return timed + 0.2 * bool(_DATE_HINT.search(mark.names)) + shortness + near

    return _best(marks, score, 0.0)


def _inside(el: Any, container: Any) -> bool:
    return el is container or any(a is container for a in el.iterancestors())


def _pick_lead(marks: Sequence[Landmark], roots: Sequence[Any], title: Landmark) -> Landmark | None:
    descriptions = [meta(root, "description", "og:description") for root in roots]

    def score(mark: Landmark) -> float:
        if mark.tag == "meta" or not mark.varies or mark.texts == title.texts:
            return -1.0
        if any(not 40 <= len(t) <= 800 for t in mark.texts):
            return -1.0
        for el, title_el in zip(mark.elements, title.elements, strict=True):
            if _inside(title_el, el):
                return -1.0  # holds the title: a wrapper, not a lead
        match = sum(
            _similarity(t[:80], d[:80]) if d else 0.0
            for t, d in zip(mark.texts, descriptions, strict=True)
        ) / len(roots)
        return match + 0.5 * bool(_LEAD_HINT.search(mark.names))

    return _best(marks, score, 0.5)


def _pick_short(
    marks: Sequence[Landmark], roots: Sequence[Any], hint: re.Pattern[str], *, links: bool
) -> Landmark | None:
    """A category or author: a short text in an element the template names so.

    For a category, a container holding links (a breadcrumb) stands for its
    first link; that link may not be the home page's.
    """
    for mark in marks:
        if not hint.search(mark.names) or mark.tag == "meta":
            continue
        if links and mark.tag != "a":
            mark = landmark(roots, f"{mark.css} a") or mark
        if all(_one_name(t) for t in mark.texts):
            return mark
    return None


def _one_name(text: str) -> bool:
    """A section's or a person's name: short, not the home link, not a whole trail."""
    folded = fold(text)
    return (
        0 < len(text) <= 60
        and len(text.split()) <= 8
        and not any(folded.startswith(home) for home in HOME_LINKS)
        and "»" not in text
    )


def _pick_image(roots: Sequence[Any], body: Landmark) -> str | None:
    if all(meta(root, "og:image") for root in roots):
        return "meta[property='og:image']"
    if all(el.find(".//img") is not None for el in body.elements):
        return f"{body.css} img"
    return None


def _outside(
    marks: Sequence[Landmark], roots: Sequence[Any], drop: Sequence[str]
) -> list[Landmark]:
    """The landmarks no dropped element holds (a commenter's name is no byline)."""
    dropped = [m for root in roots for css in drop for m in select_all(root, css)]
    return [
        mark for mark in marks if not any(_inside(el, d) for el in mark.elements for d in dropped)
    ]


def _pick_drop(roots: Sequence[Any], body: Landmark, keep: Sequence[Landmark]) -> list[str]:
    """Chrome inside the body: CSS paths whose every element there is named like chrome
    (share, related, comment...), mostly links, or a chrome line ("Lượt xem: 508")."""
    # per CSS path in the bodies: [elements that look like chrome, elements]
    tally: dict[str, list[int]] = {}
    for body_el in body.elements:
        for el in body_el.iterdescendants():
            if not isinstance(el.tag, str) or el.tag.lower() in _INLINE:
                continue  # a link or a bold word inside a sentence is the sentence's
            text = quick_text(el)
            link_chars = sum(len(quick_text(a)) for a in el.iter("a"))
            chrome = not text or link_chars >= 0.6 * len(text) or is_chrome_line(text)
            for css in css_names(el):
                counts = tally.setdefault(css, [0, 0])
                counts[0] += chrome or bool(_CHROME_HINT.search(css))
                counts[1] += 1
    found = [
        css
        for css, (chrome, total) in tally.items()
        if chrome == total and any(quick_text(m) for r in roots for m in select_all(r, css))
    ]  # an empty element takes nothing away: no drop
    kept = [el for mark in keep for el in mark.elements]
    chosen: list[tuple[str, list[Any]]] = []
    seen: set[tuple[int, ...]] = set()
    for css in found:
        matches = [m for root in roots for m in select_all(root, css)]
        same = tuple(id(m) for m in matches)
        if same in seen:
            continue  # "div.likesubject.fl" names what "div.likesubject" does
        if any(_inside(k, m) for m in matches for k in kept):
            continue  # would take the title, the date or the lead with it
        if any(_inside(b, m) for m in matches for b in body.elements):
            continue
        seen.add(same)  # ids stay valid: `chosen` holds the elements
        chosen.append((css, matches))
    taken = [m for _, matches in chosen for m in matches]
    drops = [
        css
        for css, matches in chosen
        if not all(any(t is not m and _inside(m, t) for t in taken) for m in matches)
    ]  # an element inside another dropped one goes with it
    return drops[:_MAX_DROPS]
