"""The one shape every extractor returns: an article as read from a page (or a feed item).

Extractors (the portal landmarks, site profiles, zero-config) and the feed
path differ in how they find the parts of an article; what they hand on is
this value, so storing, previews and ``loa extract --json`` see one shape.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from news.extract.dates import ParsedDate
from news.text import normalize_text, slugify, summarize

__all__ = ["ExtractedArticle"]


@dataclass(frozen=True, slots=True)
class ExtractedArticle:
    """One article as read from a page, all text in NFC; `author` as the page prints it
    (see :mod:`news.extract.byline`)."""

    url: str
    canonical_url: str
    title: str
    category: str
    category_slug: str
    published_at: datetime | None
    date_inferred: bool
    summary: str
    body: str
    image: str | None
    author: str | None

    @classmethod
    def build(
        cls,
        *,
        url: str,
        title: str,
        lead: str,
        body: str,
        summary_chars: int,
        canonical_url: str | None = None,
        category: str = "",
        published: ParsedDate | None = None,
        image: str | None = None,
        author: str | None = None,
    ) -> ExtractedArticle:
        """The article from the parts an extractor (or a feed item) found.

        Every path builds it here, so the rules hold once: text in NFC (title,
        category and author single-spaced too, the body's paragraphs kept), the
        summary cut from `lead` at a sentence or word within `summary_chars`, the
        category's slug derived from its name, no canonical URL meaning `url`, a
        date whose year (or day) was guessed marked ``date_inferred``.
        """
        category = normalize_text(category)
        return cls(
            url=url,
            canonical_url=canonical_url or url,
            title=normalize_text(title),
            category=category,
            category_slug=slugify(category),
            published_at=published.value if published else None,
            date_inferred=published.inferred_year if published else False,
            summary=summarize(lead, summary_chars),
            body=unicodedata.normalize("NFC", body),
            image=image,
            author=normalize_text(author) or None if author else None,
        )

    def to_json_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (``loa extract --json``); dates in ISO 8601 with offset."""
        return {
            "url": self.url,
            "canonical_url": self.canonical_url,
            "title": self.title,
            "category": self.category,
            "category_slug": self.category_slug,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "date_inferred": self.date_inferred,
            "summary": self.summary,
            "body": self.body,
            "image": self.image,
            "author": self.author,
        }
