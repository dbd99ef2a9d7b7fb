"""The feed server over real HTTP: valid RSS, conditional GET, health."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import feedparser
import requests
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from feeds.cache import rebuild_all
from feeds.server import create_app
from tests.conftest import free_port
from tests.helpers import extracted, running_server, store_article

ICT = timezone(timedelta(hours=7))


def test_rss_is_valid_and_conditional_get_works(factory: sessionmaker[Session]) -> None:
    port = free_port()
    settings = load_settings(None, environ={"LOA_HTTP_PORT": str(port)})
    store_article(
        factory,
        extracted(
            1,
            title='Hội nghị <tổng kết> & "đánh giá"',
            published_at=datetime(2023, 3, 13, 16, 56, tzinfo=ICT),
        ),
    )
    with running_server(create_app(settings, factory), port) as base:
        first = requests.get(f"{base}/feeds/all.rss", timeout=10)
        assert first.status_code == 200
        assert first.headers["content-type"] == "application/rss+xml; charset=utf-8"
        parsed = feedparser.parse(first.content)
        assert parsed.bozo == 0
        (entry,) = parsed.entries
        assert entry.title == 'Hội nghị <tổng kết> & "đánh giá"'
        assert entry.id.startswith("tag:portal.test,")
        assert entry.guidislink is False
        assert entry.published.endswith("+0700")
        assert parsed.feed.language == "vi"

        etag = first.headers["etag"]
        again = requests.get(f"{base}/feeds/all.rss", headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304
        assert again.content == b""
        since = requests.get(
            f"{base}/feeds/all.rss",
            headers={"If-Modified-Since": first.headers["last-modified"]},
            timeout=10,
        )
        assert since.status_code == 304

        store_article(factory, extracted(2))
        rebuild_all(factory, settings)
        changed = requests.get(f"{base}/feeds/all.rss", headers={"If-None-Match": etag}, timeout=10)
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert len(feedparser.parse(changed.content).entries) == 2

        head = requests.head(f"{base}/feeds/all.rss", timeout=10)
        assert head.status_code == 200 and head.content == b""


def test_unknown_feed_is_404_and_health_reports_articles(factory: sessionmaker[Session]) -> None:
    port = free_port()
    settings = load_settings(None, environ={"LOA_HTTP_PORT": str(port)})
    store_article(factory, extracted(1, title="Tin <b>đậm</b>"))
    with running_server(create_app(settings, factory), port) as base:
        missing = requests.get(f"{base}/feeds/nope.rss", timeout=10)
        assert missing.status_code == 404
        assert "nope.rss" in missing.text
        health = requests.get(f"{base}/healthz", timeout=10)
        assert health.json() == {"status": "ok", "articles": 1}
        home = requests.get(f"{base}/", timeout=10)
        assert "Tin &lt;b&gt;đậm&lt;/b&gt;" in home.text
        assert "<b>đậm</b>" not in home.text
