"""How one source is read: the value poll, re-check and `loa check-source` share.

Reading a source takes its configuration, a polite fetcher, the reader its
profile calls for, and the newsroom's time zone and summary length. They
travel together as one :class:`SourceReading` (built from Settings by
``tasks.runtime.Runtime.reading``) instead of as seven arguments each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from config.settings import SourceConfig, StoriesConfig
from news.extract import ExtractedArticle, SiteReader
from news.fetch import Fetcher, FetchResult


@dataclass(frozen=True)
class SourceReading:
    """One source and everything needed to read its pages."""

    source: SourceConfig
    fetcher: Fetcher
    reader: SiteReader
    tz: ZoneInfo
    summary_chars: int = 400
    #: how stored articles are grouped into stories (settings.stories)
    stories: StoriesConfig = field(default_factory=StoriesConfig)

    def article(self, page: FetchResult, *, now: datetime) -> ExtractedArticle:
        """Extract a fetched article page (raises ExtractionError, LegacyEncodingError)."""
        return self.reader.article(
            page.content,
            url=page.url,
            now=now,
            tz=self.tz,
            summary_chars=self.summary_chars,
            content_type=page.content_type,
        )
