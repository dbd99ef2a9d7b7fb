"""Which extraction method reads a site best: every profile and zero-config, scored.

``loa add-source`` fetches a few articles of a candidate and asks each method
(every site profile it knows, built-in and custom, and zero-config) to read
them. What a newsroom cares about is what a reader sees, so each extraction is
scored per field, 0..1 (:data:`~news.discovery.model.SCORED_FIELDS`):

- ``title``: present, of a headline's length, not the site's name and not the
  chrome part of ``<title>`` ("... - Báo X");
- ``date_time``: a date with a time of day 1, a date alone 0.5 (the page's
  midnight: a day-only date parses to 00:00), none 0;
- ``lead``: present, not a copy of the title, of a sapo's length;
- ``body``: enough words, in several paragraphs;
- ``category``: present and short (a section name, not a sentence);
- ``clean``: no page chrome in the body: lines that are the text of the
  page's links (menus, "Tin liên quan" lists), and the phrases CMSs print
  around articles (share buttons, "Các tin mới hơn / cũ hơn", copyright).

A method that gives the same title, lead, body or date on different pages has
read the page's frame, not its article (every title the site name, every body
the footer): that field scores 0 on those pages. The weighted mean over the
fields is a page's score, the mean over the pages the method's; a page the
method cannot read (ExtractionError) scores 0 and adds a line to ``errors``.
A method fits a site when its score reaches :data:`GOOD_SCORE`.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from cssselect import SelectorError

from config.profiles import SiteProfile
from news.discovery.model import SCORED_FIELDS, MethodScore, SamplePage
from news.errors import SourceError
from news.extract.article import ExtractedArticle
from news.extract.page import meta, page_text, parse_html
from news.extract.profiles import extract_with_profile
from news.extract.zero_config import extract_generic
from news.text import fold_diacritics, normalize_text

__all__ = [
    "FIELD_WEIGHTS",
    "GOOD_SCORE",
    "HOME_LINKS",
    "ZERO_CONFIG",
    "PageFacts",
    "chrome_ratio",
    "is_chrome_line",
    "page_facts",
    "score_article",
    "score_methods",
]

#: The method name of zero-config extraction in the scores.
ZERO_CONFIG = "zero-config"

#: How much each field counts in a page's score (they sum to 1): title and body
#: are the post, the date decides order and freshness, clean keeps menus out.
FIELD_WEIGHTS: dict[str, float] = {
    "title": 0.25,
    "date_time": 0.2,
    "lead": 0.1,
    "body": 0.25,
    "category": 0.05,
    "clean": 0.15,
}

#: A method whose score reaches this fits the site (see docs: on the test-site
#: corpus the right profile scores 0.92-0.99 and wrong ones under 0.15;
#: zero-config 0.80-0.90 there and on the real pages).
GOOD_SCORE = 0.75

# ---------------------------------------------------------------- the page


@dataclass(frozen=True)
class PageFacts:
    """What scoring needs to know about a page besides an extraction of it."""

    site_names: frozenset[str]  # folded: og:site_name, the chrome parts of <title>
    link_texts: frozenset[str]  # folded text of every <a> on the page


_TITLE_SEPARATORS = re.compile(r"\s+[-|–—:»/]\s+")


def page_facts(root: Any, chrome_parts: frozenset[str] = frozenset()) -> PageFacts:
    """The site's name(s) and the page's link texts, to tell chrome from article.

    The site's names are ``og:site_name``, the last part of ``<title>``
    ("Headline - Báo X") and any part of it in `chrome_parts` (the parts
    several sample pages' titles share, see :func:`title_parts`).
    """
    names = {meta(root, "og:site_name", "application-name")}
    parts = title_parts(root)
    if len(parts) > 1:
        names.add(parts[-1])
    names.update(part for part in parts if _fold(part) in chrome_parts)
    links = {_fold(anchor.text_content()) for anchor in root.iter("a")}
    return PageFacts(
        site_names=frozenset(_fold(n) for n in names if n),
        link_texts=frozenset(t for t in links if t),
    )


def title_parts(root: Any) -> list[str]:
    """The parts of the page's ``<title>`` between separators (" - ", " | "...)."""
    titles = root.xpath("//title")
    if not titles:
        return []
    return [p for p in _TITLE_SEPARATORS.split(normalize_text(titles[0].text_content())) if p]


def shared_title_parts(roots: Sequence[Any]) -> frozenset[str]:
    """Folded ``<title>`` parts found on two or more of the pages: the site's chrome."""
    counts: Counter[str] = Counter()
    for root in roots:
        counts.update({_fold(p) for p in title_parts(root)})
    return frozenset(part for part, n in counts.items() if n > 1)


def _fold(text: str) -> str:
    return fold_diacritics(normalize_text(text)).lower()


# ---------------------------------------------------------------- fields

#: Phrases that mark page chrome when a body line contains them (folded).
_CHROME_PHRASES = tuple(
    fold_diacritics(p).lower()
    for p in (
        "Các tin mới hơn",
        "Các tin cũ hơn",
        "Tin liên quan",
        "Tin cùng chuyên mục",
        "Bài viết liên quan",
        "Tin khác",
        "Xem thêm",
        "Chia sẻ",
        "Share",
        "Tweet",
        "Bản quyền",
        "Copyright",
        "©",
        "Lượt xem",
        "Lượt truy cập",
        "In bài viết",
        "Gửi bài viết",
        "Trở về",
        "Đầu trang",
        "Bình luận",
        "Đăng nhập",
        "Ý kiến bạn đọc",
        "Gửi ý kiến",
    )
)
_SHORT_LINE = 80
#: Folded names of the home link, first in every breadcrumb: no category.
HOME_LINKS = frozenset({"trang chu", "home", "trang nhat", "trang chinh"})
#: Words from which a body counts as a full article (short notices score less).
_FULL_BODY_WORDS = 80


def _title_score(title: str, facts: PageFacts) -> float:
    folded = _fold(title)
    if not folded or folded in facts.site_names:
        return 0.0
    words = len(title.split())
    if words < 3 or len(title) > 250:
        return 0.3
    return 1.0


def _date_score(article: ExtractedArticle) -> float:
    moment = article.published_at
    if moment is None:
        return 0.0
    return 0.5 if (moment.hour, moment.minute, moment.second) == (0, 0, 0) else 1.0


def _lead_score(article: ExtractedArticle) -> float:
    lead, title = _fold(article.summary), _fold(article.title)
    if not lead or lead == title or len(lead) < len(title) + 10 and title in lead:
        return 0.0
    if len(lead) < 40:
        return 0.5
    return 1.0


def _paragraphs(body: str) -> list[str]:
    return [p.strip() for p in body.split("\n") if p.strip()]


def _body_score(article: ExtractedArticle) -> float:
    paragraphs = _paragraphs(article.body)
    words = sum(len(p.split()) for p in paragraphs)
    spread = 1.0 if len(paragraphs) >= 3 else 0.8 if len(paragraphs) == 2 else 0.5
    return min(1.0, words / _FULL_BODY_WORDS) * spread


def _category_score(category: str) -> float:
    if not category or _fold(category) in HOME_LINKS:
        return 0.0  # "Trang chủ" is the first link of every breadcrumb, no section
    return 1.0 if len(category) <= 60 and len(category.split()) <= 8 else 0.3


def chrome_ratio(body: str, link_texts: frozenset[str]) -> float:
    """Share of the body's characters on lines that are page chrome, 0..1.

    A line is chrome when it is the whole text of one of the page's links
    (menu entries, related-article lists) or a short line carrying a chrome
    phrase ("Tin liên quan", "Chia sẻ", "Bản quyền ...").
    """
    paragraphs = _paragraphs(body)
    total = sum(len(p) for p in paragraphs)
    if total == 0:
        return 0.0
    chrome = 0
    for paragraph in paragraphs:
        if _fold(paragraph) in link_texts or is_chrome_line(paragraph):
            chrome += len(paragraph)
    return chrome / total


def is_chrome_line(text: str) -> bool:
    """A short line carrying a phrase CMSs print around articles ("Lượt xem", "Chia sẻ")."""
    if len(text) > _SHORT_LINE:
        return False
    folded = _fold(text)
    return any(p in folded for p in _CHROME_PHRASES)


def _clean_score(article: ExtractedArticle, facts: PageFacts) -> float:
    if not article.body.strip():
        return 0.0
    return max(0.0, 1.0 - 2.0 * chrome_ratio(article.body, facts.link_texts))


def score_article(article: ExtractedArticle, facts: PageFacts) -> dict[str, float]:
    """Each of SCORED_FIELDS for one extraction, 0..1 (before the same-on-every-page check)."""
    return {
        "title": _title_score(article.title, facts),
        "date_time": _date_score(article),
        "lead": _lead_score(article),
        "body": _body_score(article),
        "category": _category_score(article.category),
        "clean": _clean_score(article, facts),
    }


def weighted(fields: Mapping[str, float]) -> float:
    """The page score: the fields' weighted mean."""
    return sum(FIELD_WEIGHTS[name] * fields.get(name, 0.0) for name in SCORED_FIELDS)


# ---------------------------------------------------------------- methods

Extractor = Any  # (text, url) -> ExtractedArticle


def _repeated_fields(articles: Sequence[ExtractedArticle | None]) -> dict[str, set[int]]:
    """Per field, the pages whose value another (different) page shares: the frame, not news."""
    values: dict[str, list[tuple[int, object]]] = {"title": [], "lead": [], "body": []}
    values["date_time"] = []
    for index, article in enumerate(articles):
        if article is None:
            continue
        values["title"].append((index, _fold(article.title)))
        values["lead"].append((index, _fold(article.summary)))
        values["body"].append((index, _fold(article.body)))
        if article.published_at is not None:
            values["date_time"].append((index, article.published_at))
    repeated: dict[str, set[int]] = {}
    for name, pairs in values.items():
        counts = Counter(value for _, value in pairs if value)
        repeated[name] = {i for i, value in pairs if value and counts[value] > 1}
    return repeated


def _score_method(
    method: str,
    extract: Extractor,
    pages: Sequence[tuple[SamplePage, str, PageFacts]],
) -> MethodScore:
    articles: list[ExtractedArticle | None] = []
    errors: list[str] = []
    for page, text, _facts in pages:
        try:
            articles.append(extract(text, page.url))
        except (SourceError, SelectorError) as exc:  # a custom profile's selector lxml refuses
            articles.append(None)
            errors.append(f"{page.url}: {exc}")
    repeated = _repeated_fields(articles)
    totals = dict.fromkeys(SCORED_FIELDS, 0.0)
    score = 0.0
    for index, (article, (_page, _text, facts)) in enumerate(zip(articles, pages, strict=True)):
        if article is None:
            continue
        fields = score_article(article, facts)
        for name, pages_repeated in repeated.items():
            if index in pages_repeated:
                fields[name] = 0.0
        if fields["title"] == 0.0 or fields["body"] == 0.0:
            fields["clean"] = 0.0  # nothing of the article read: nothing to call clean
        for name in SCORED_FIELDS:
            totals[name] += fields[name]
        score += weighted(fields)
    count = max(len(pages), 1)
    return MethodScore(
        method=method,
        score=round(score / count, 4),
        fields={name: round(value / count, 4) for name, value in totals.items()},
        articles=len(pages),
        errors=tuple(errors),
    )


def score_methods(
    pages: Sequence[SamplePage],
    *,
    profiles: Mapping[str, SiteProfile],
    tz: ZoneInfo,
    now: datetime,
    summary_chars: int = 400,
) -> list[MethodScore]:
    """Every profile in `profiles` and zero-config on `pages`, best first.

    Pages with the same bytes count once. A page that is not readable HTML at
    all (binary, a legacy font encoding) is left out of every method's sample.
    Ties go to a profile before zero-config (a profile's selectors are exact
    where zero-config guesses), then by name.
    """
    texts: list[tuple[SamplePage, str, Any]] = []
    seen: set[bytes] = set()
    for page in pages:
        if page.content in seen:
            continue
        seen.add(page.content)
        try:
            text = page_text(page.content, page.content_type, url=page.url)
            root = parse_html(text, page.url)
        except SourceError:
            continue
        texts.append((page, text, root))
    chrome_parts = shared_title_parts([root for _, _, root in texts])
    prepared = [(page, text, page_facts(root, chrome_parts)) for page, text, root in texts]

    def by_profile(profile: SiteProfile) -> Extractor:
        def extract(text: str, url: str) -> ExtractedArticle:
            return extract_with_profile(
                profile, text, url=url, now=now, tz=tz, summary_chars=summary_chars
            )

        return extract

    def zero_config(text: str, url: str) -> ExtractedArticle:
        return extract_generic(text, url=url, now=now, tz=tz, summary_chars=summary_chars)

    scores = [_score_method(name, by_profile(p), prepared) for name, p in profiles.items()]
    scores.append(_score_method(ZERO_CONFIG, zero_config, prepared))
    scores.sort(key=lambda s: (-s.score, s.method == ZERO_CONFIG, s.method))
    return scores
