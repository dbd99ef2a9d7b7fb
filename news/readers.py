"""How to read one source's pages: with its site profile, or zero-config.

A :class:`SiteReader` is the single place that decides which extractor and
link-discovery function a source uses and how article identities are formed,
so polling, re-checking, ``loa extract`` and ``loa check-source`` agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from news.charset import LegacyEncodingError, decode_html
from news.errors import ConfigError, ExtractionError
from news.extraction import ExtractedArticle
from news.generic import discover_generic_links, extract_generic
from news.profiles import (
    BUILTIN_PROFILES,
    SiteProfile,
    article_identity,
    discover_with_profile,
    extract_with_profile,
)


@dataclass(frozen=True)
class SiteReader:
    """Extraction strategy for one site; `profile` None means zero-config."""

    profile: SiteProfile | None

    @property
    def name(self) -> str:
        return self.profile.name if self.profile else "zero-config"

    def links(self, content: bytes, *, base_url: str, content_type: str | None = None) -> list[str]:
        """Article links found on a listing page, in page order."""
        _require_html(content_type, base_url)
        text = decode_html(content, content_type)
        if self.profile is None:
            return discover_generic_links(text, base_url=base_url)
        return discover_with_profile(self.profile, text, base_url=base_url)

    def article(
        self,
        content: bytes,
        *,
        url: str,
        now: datetime,
        tz: ZoneInfo,
        summary_chars: int,
        content_type: str | None = None,
    ) -> ExtractedArticle:
        """Extract one article page (raises ExtractionError, LegacyEncodingError)."""
        _require_html(content_type, url)
        try:
            text = decode_html(content, content_type)
        except LegacyEncodingError as exc:
            raise LegacyEncodingError(exc.encoding, url=url) from None
        if self.profile is None:
            return extract_generic(text, url=url, now=now, tz=tz, summary_chars=summary_chars)
        return extract_with_profile(
            self.profile, text, url=url, now=now, tz=tz, summary_chars=summary_chars
        )

    def identity(self, url: str) -> str:
        """One identity for every URL variant of the same article."""
        return article_identity(self.profile, url)


HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")


def _require_html(content_type: str | None, url: str) -> None:
    """Refuse images, PDFs and the like before parsing them as HTML."""
    media = (content_type or "").split(";")[0].strip().lower()
    if media and media not in HTML_TYPES:
        raise ExtractionError(f"not an HTML page (Content-Type {media})", url=url)


def reader_for(
    profile_name: str | None, custom: Mapping[str, SiteProfile] | None = None
) -> SiteReader:
    """The reader for a profile name (custom profiles shadow built-in ones)."""
    if profile_name is None:
        return SiteReader(None)
    profiles = {**BUILTIN_PROFILES, **(custom or {})}
    if profile_name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(
            f"unknown site profile {profile_name!r} (known: {known})", field="profile"
        )
    return SiteReader(profiles[profile_name])


def extract_auto(
    content: bytes,
    *,
    url: str,
    now: datetime,
    tz: ZoneInfo,
    summary_chars: int,
    content_type: str | None = None,
) -> ExtractedArticle:
    """No profile given: the portal CMS's landmarks when the page has them, else zero-config."""
    try:
        return reader_for("cms-portal").article(
            content, url=url, now=now, tz=tz, summary_chars=summary_chars, content_type=content_type
        )
    except LegacyEncodingError:
        raise
    except ExtractionError:
        return SiteReader(None).article(
            content, url=url, now=now, tz=tz, summary_chars=summary_chars, content_type=content_type
        )
