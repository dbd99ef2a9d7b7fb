"""The feed rebuild task renders what polls changed, gathered over a burst, and no more."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis as redis_lib
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from feeds.cache import FeedScope
from news.models import RenderedFeed
from news.store import get_or_create_source, upsert_article
from tasks import runtime
from tasks.app import create_celery_app
from tasks.jobs import (
    FEEDS_DIRTY_ALL,
    FEEDS_DIRTY_ARTICLES,
    FEEDS_DIRTY_SOURCES,
    FEEDS_FULL_RECENT,
    FEEDS_QUEUED,
    rebuild_feeds,
    schedule_feed_rebuild,
)
from tests.helpers import extracted

KEYS = (FEEDS_QUEUED, FEEDS_DIRTY_ALL, FEEDS_DIRTY_SOURCES, FEEDS_DIRTY_ARTICLES, FEEDS_FULL_RECENT)


@pytest.fixture
def client(redis_url: str, database_url: str) -> Iterator[redis_lib.Redis]:
    settings = load_settings(None, environ={"REDIS_URL": redis_url, "DATABASE_URL": database_url})
    app = create_celery_app(settings)  # also this process's task runtime
    app.control.purge()
    client = redis_lib.Redis.from_url(runtime.redis_client_url(redis_url))
    client.delete(*KEYS)
    try:
        yield client
    finally:
        app.control.purge()
        client.delete(*KEYS)
        client.close()
        runtime.get_runtime().close()


def add(factory: sessionmaker[Session], n: int, source_name: str, category: str) -> int:
    with factory.begin() as session:
        source = get_or_create_source(
            session, name=source_name, kind="html", url=f"http://{source_name}.test/"
        )
        return upsert_article(session, extracted(n, category=category), source=source).article_id


def rendered(factory: sessionmaker[Session]) -> dict[str, str]:
    with factory() as session:
        return {
            key: etag for key, etag in session.execute(select(RenderedFeed.key, RenderedFeed.etag))
        }


def test_polls_of_a_burst_rebuild_their_feeds_once_and_nothing_else(
    client: redis_lib.Redis, factory: sessionmaker[Session]
) -> None:
    first = add(factory, 1, "portal", "Kinh tế")
    add(factory, 2, "other", "Thể thao")
    schedule_feed_rebuild()  # e.g. an editor's action: everything
    rebuild_feeds()
    everything = rendered(factory)
    assert "source/other.rss" in everything and "category/the-thao.atom" in everything

    second = add(factory, 3, "portal", "Kinh tế")
    queued = client.llen("celery")
    schedule_feed_rebuild(FeedScope(frozenset({"portal"}), frozenset({first})))
    schedule_feed_rebuild(FeedScope(frozenset({"portal"}), frozenset({second})))
    assert client.llen("celery") == queued + 1  # one task for the burst
    rebuild_feeds()
    after = rendered(factory)
    changed = {key for key in after if after[key] != everything[key]}
    assert changed == {
        f"{stem}.{fmt}"
        for stem in ("all", "source/portal", "category/kinh-te")
        for fmt in ("rss", "atom", "json")
    }
    rebuild_feeds()  # a second task of the same burst finds nothing left to do
    assert rendered(factory) == after
