"""How to read one source's pages: with its site profile, or without one.

A :class:`SiteReader` is the single place that decides which extractor and
link-discovery function a source uses and how article identities are formed,
so polling, re-checking, ``loa extract``, ``loa preview`` and ``loa check-source``
agree: a page that ``loa extract`` reads is a page a configured source reads.

Without a profile, a page is first offered to the provincial portal CMS's
landmark reader (it refuses, in about a millisecond, any page with neither the
"Chi tiết tin tức" block nor a single "Ngày đăng: …" line), then to zero-config.
The landmark reader is exact on those portals, where zero-config has to guess
and refuses the shortest notices.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from news.errors import ConfigError, ExtractionError
from news.extract.article import ExtractedArticle
from news.extract.charset import decode_html
from news.extract.profiles import (
    BUILTIN_PROFILES,
    SiteProfile,
    article_identity,
    discover_with_profile,
    extract_with_profile,
)
from news.extract.zero_config import discover_generic_links, extract_generic


@dataclass(frozen=True)
class SiteReader:
    """Extraction strategy for one site; `profile` None: portal landmarks, else zero-config."""

    profile: SiteProfile | None

    @property
    def name(self) -> str:
        return self.profile.name if self.profile else "no profile"

    def links(self, content: bytes, *, base_url: str, content_type: str | None = None) -> list[str]:
        """Article links found on a listing page, in page order."""
        _require_html(content_type, base_url)
        text = decode_html(content, content_type, url=base_url)
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
        text = decode_html(content, content_type, url=url)
        if self.profile is not None:
            return extract_with_profile(
                self.profile, text, url=url, now=now, tz=tz, summary_chars=summary_chars
            )
        try:
            return extract_with_profile(
                BUILTIN_PROFILES[_LANDMARKS], text, url=url, now=now, tz=tz,
                summary_chars=summary_chars,
            )  # fmt: skip
        except ExtractionError:
            return extract_generic(text, url=url, now=now, tz=tz, summary_chars=summary_chars)

    def identity(self, url: str) -> str:
        """One identity for every URL variant of the same article."""
        return article_identity(self.profile, url)


#: The built-in profile tried first on a page of a source without a profile.
_LANDMARKS = "cms-portal"
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
