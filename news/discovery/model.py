"""The values ``loa add-source`` passes between its parts (see news.discovery).

Plain frozen dataclasses, so the CLI's table, its ``--json`` output and the
bot's ``/addsource`` reply are all drawn from the same result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

CandidateKind = Literal["rss", "atom", "sitemap", "news-sitemap", "listing"]

#: The fields an extraction is scored on, each 0..1 (see news.discovery.scoring).
SCORED_FIELDS = ("title", "date_time", "lead", "body", "category", "clean")


@dataclass(frozen=True)
class SamplePage:
    """A fetched page handed to scoring and derivation: no network below this line."""

    url: str
    content: bytes
    content_type: str | None = None


@dataclass(frozen=True)
class Candidate:
    """Something Loa could poll: a feed, a sitemap or an HTML listing page.

    `found_via` says how it was found, for the table and for "what was tried"
    ("<link rel=alternate>", "/feed", "robots.txt Sitemap:", "category menu",
    "the page itself"...). `article_urls` are the article links it yields, in
    its own order (newest first for feeds and news sitemaps).
    """

    kind: CandidateKind
    url: str
    found_via: str
    article_urls: tuple[str, ...] = ()
    title: str | None = None
    #: a category name when the candidate is one category's listing (a menu entry)
    category: str | None = None


@dataclass(frozen=True)
class MethodScore:
    """How well one extraction method read a candidate's sample articles.

    `method` is a profile name, ``"zero-config"`` or ``"derived"``. `score`
    is the mean over the sample of the weighted field scores, 0..1; `fields`
    the mean per field (keys: SCORED_FIELDS); `errors` one line per article
    the method could not read.
    """

    method: str
    score: float
    fields: dict[str, float]
    articles: int
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class Attempt:
    """One thing tried and what came of it: the lines of an exit-2 refusal."""

    what: str
    outcome: str


@dataclass(frozen=True)
class Proposal:
    """What ``loa add-source URL`` proposes, or why it cannot.

    `source` is the proposed source as it would be written under ``sources:``
    (a plain mapping that validates as config.settings.SourceConfig);
    `profile` a derived profile for ``profiles:`` when no built-in one fits
    and it reads better than zero-config (a mapping that validates as
    config.profiles.SiteProfile), else None; `derived` is the profile derived
    whenever no built-in one fits, shown even when zero-config was proposed.
    `ok` is False when nothing watchable was found: `attempts` says what was tried.
    """

    url: str
    candidates: tuple[Candidate, ...]
    scores: dict[str, tuple[MethodScore, ...]]  # candidate URL -> its methods' scores
    chosen: Candidate | None
    method: str | None
    source: dict[str, Any] | None
    profile: dict[str, Any] | None
    attempts: tuple[Attempt, ...] = ()
    warnings: tuple[str, ...] = field(default_factory=tuple)
    #: the proposed source's category names → their slugs (news.text.slugify), for the table
    category_slugs: dict[str, str] = field(default_factory=dict)
    derived: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.source is not None
