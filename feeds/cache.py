"""Pre-rendered feeds: built when articles change, served as stored bytes.

Serving a feed is then one primary-key lookup; the ETag is a hash of the
bytes, so it changes exactly when the document does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from config.settings import Settings
from feeds.build import build_rss, latest_articles
from news.db import utcnow, write_session
from news.models import RenderedFeed

RSS_TYPE = "application/rss+xml; charset=utf-8"


@dataclass(frozen=True)
class CachedFeed:
    """A stored feed document and its validators."""

    key: str
    content_type: str
    body: bytes
    etag: str
    built_at: datetime


def store(session: Session, key: str, content_type: str, body: bytes) -> None:
    """Save a rendered document unless identical bytes are already stored."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    row = session.get(RenderedFeed, key)
    if row is None:
        session.add(
            RenderedFeed(
                key=key, content_type=content_type, body=body, etag=etag, built_at=utcnow()
            )
        )
    elif row.etag != etag:
        row.body, row.etag, row.content_type, row.built_at = body, etag, content_type, utcnow()


def load(factory: sessionmaker[Session], key: str) -> CachedFeed | None:
    """The stored document for `key`, if any."""
    with factory() as session:
        row = session.get(RenderedFeed, key)
        if row is None:
            return None
        return CachedFeed(row.key, row.content_type, row.body, row.etag, row.built_at)


def rebuild_all(factory: sessionmaker[Session], settings: Settings) -> list[str]:
    """Re-render every feed Loa serves; return the keys written."""
    with write_session(factory) as session:
        articles = latest_articles(session)
        body = build_rss(
            articles,
            title=settings.feed_title,
            site_url=settings.base_url + "/",
            self_url=settings.base_url + "/feeds/all.rss",
            tz=settings.tz,
        )
        store(session, "all.rss", RSS_TYPE, body)
    return ["all.rss"]
