"""The one shape every extractor returns: an article as read from a page (or a feed item).

Extractors (the portal landmarks, site profiles, zero-config) and the feed
path differ in how they find the parts of an article; what they hand on is
this value, so storing, previews and ``loa extract --json`` see one shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
