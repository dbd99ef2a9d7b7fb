"""Pushed and fetched articles: the identity a poll would give them, one announcement only."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import RouteRule, Settings
from loa.demo_portal import DemoPortal
from news.announce import announce_poll, plan_announcements
from news.errors import EditorialError
from news.extract import reader_for
from news.fetch import Fetcher
from news.ingest import PushedArticle, fetch_and_store, store_pushed, watched_source
from news.models import Article, Delivery, Source
from news.poll import poll_source
from news.reading import SourceReading
from news.recheck import recheck_source
from news.ssrf import HostNotAllowed

ROUTES = [RouteRule(channel="@kenh_a"), RouteRule(channel="@kenh_b")]


@pytest.fixture
def portal() -> Iterator[DemoPortal]:
    server = DemoPortal(port=0, started_at=time.time(), interval_seconds=3600, initial_articles=3)
    server.start()
    yield server
    server.stop()


def portal_settings(portal: DemoPortal, **extra: str) -> Settings:
    source = {"name": "demo", "url": f"{portal.url}/", "profile": "cms-portal"}
    return load_settings(None, environ={"LOA_SOURCES": json.dumps([source]), **extra})


def pushed_for(portal: DemoPortal, k: int, **changes: object) -> PushedArticle:
    art = portal.article(k)
    fields: dict[str, object] = {
        "title": art.title,
        "url": f"{portal.url}{art.path}",
        "published_at": art.published,
        "category": art.story.category,
        "summary": "Tóm tắt do CMS gửi.",
        "body": "Đoạn một.\nĐoạn hai.",
        "image": f"{portal.url}/images/{art.id}.svg",
    }
    fields.update(changes)
    return PushedArticle(**fields)  # type: ignore[arg-type]


def test_a_pushed_article_of_a_watched_source_is_the_one_the_poll_finds(
    factory: sessionmaker[Session], portal: DemoPortal
) -> None:
    settings = portal_settings(portal)
    newest = portal.newest()[0]
    pushed = store_pushed(factory, settings, pushed_for(portal, newest.k))
    assert pushed.outcome == "new"
    with factory() as session:
        article = session.get_one(Article, pushed.article_id)
        source = session.scalars(select(Source)).one()
        assert article.source_id == source.id and source.name == "demo"
        assert article.identity == reader_for("cms-portal").identity(article.url)
    pushed_plan = plan_announcements(factory, [pushed.article_id], ROUTES)
    assert len(pushed_plan) == 2

    source_cfg = settings.source("demo")
    reading = SourceReading(source_cfg, Fetcher(), reader_for("cms-portal"), tz=settings.tz)
    report = poll_source(factory, reading)
    assert pushed.article_id not in report.new
    assert len(report.new) == 2
    announce_poll(factory, report, ROUTES, settings.publish)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 3
        per_article = session.execute(
            select(Delivery.article_id, func.count()).group_by(Delivery.article_id)
        ).all()
    counts = dict(per_article)
    assert counts[pushed.article_id] == 2  # one per chat, from the push only


def test_the_same_push_twice_is_unchanged_and_a_new_body_is_an_update(
    factory: sessionmaker[Session], portal: DemoPortal
) -> None:
    settings = portal_settings(portal)
    first = store_pushed(factory, settings, pushed_for(portal, 0))
    again = store_pushed(factory, settings, pushed_for(portal, 0))
    assert (again.article_id, again.outcome) == (first.article_id, "unchanged")
    fixed = store_pushed(factory, settings, pushed_for(portal, 0, body="Đoạn một đã sửa."))
    assert (fixed.article_id, fixed.outcome) == (first.article_id, "updated")
    with factory() as session:
        assert session.get_one(Article, first.article_id).version == 2


def test_a_url_on_no_watched_site_is_stored_without_a_source(
    factory: sessionmaker[Session], portal: DemoPortal
) -> None:
    settings = portal_settings(portal)
    url = "https://cms.example/tin-tuc/bai-moi.html?utm_source=x"
    assert watched_source(settings, url) is None
    naive = datetime(2024, 5, 1, 9, 30)
    result = store_pushed(
        factory,
        settings,
        PushedArticle(
            title="  Bài  mới\u200b ", url=url, published_at=naive, body="Dẫn nhập.\n\nThân bài."
        ),
    )
    with factory() as session:
        article = session.get_one(Article, result.article_id)
        assert article.source_id is None
        assert article.identity == url
        assert article.title == "Bài mới"
        assert article.summary == "Dẫn nhập."  # the body's first paragraph stands in
        assert article.published_at is not None
        assert article.published_at == naive.replace(tzinfo=timezone(timedelta(hours=7)))


def test_a_source_is_chosen_by_site_and_longest_listing_path() -> None:
    sources = [
        {"name": "all", "url": "https://bao.example/"},
        {"name": "news", "url": "https://bao.example/tin-tuc/"},
        {"name": "other", "url": "https://bao.example:8443/tin-tuc/"},
    ]
    settings = load_settings(None, environ={"LOA_SOURCES": json.dumps(sources)})
    chosen = watched_source(settings, "http://www.bao.example/tin-tuc/a.html")
    assert chosen is not None and chosen.name == "news"
    chosen = watched_source(settings, "https://m.bao.example/video/b.html")
    assert chosen is not None and chosen.name == "all"
    chosen = watched_source(settings, "https://bao.example:8443/tin-tuc/c.html")
    assert chosen is not None and chosen.name == "other"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"url": "javascript:alert(1)"}, "url: only http"),
        ({"url": "/relative/path.html"}, "url: only http"),
        ({"title": " \u200b\n"}, "title: empty"),
    ],
)
def test_pushes_that_cannot_be_stored_are_refused(
    factory: sessionmaker[Session], portal: DemoPortal, changes: dict[str, str], message: str
) -> None:
    with pytest.raises(EditorialError, match=message):
        store_pushed(factory, portal_settings(portal), pushed_for(portal, 0, **changes))


def test_fetch_and_store_reads_a_page_of_a_source_on_loopback(
    factory: sessionmaker[Session], portal: DemoPortal
) -> None:
    settings = portal_settings(portal)
    art = portal.newest()[0]
    result = fetch_and_store(settings, factory, f"{portal.url}{art.path}")
    assert result.outcome == "new"
    with factory() as session:
        article = session.get_one(Article, result.article_id)
        assert article.title == art.title
        assert article.source_id is not None
        assert article.published_at is not None
    again = fetch_and_store(settings, factory, f"{portal.url}{art.path}")
    assert (again.article_id, again.outcome) == (result.article_id, "unchanged")


def test_fetch_and_store_refuses_another_loopback_address(
    factory: sessionmaker[Session], portal: DemoPortal
) -> None:
    port = portal.url.rsplit(":", 1)[1]
    settings = portal_settings(portal, LOA_ALLOWED_HOSTS="127.0.0.2")
    with pytest.raises(HostNotAllowed, match="127.0.0.2 is a loopback address"):
        fetch_and_store(settings, factory, f"http://127.0.0.2:{port}/tin-tuc/x-1001.html")
    with pytest.raises(HostNotAllowed, match="neither a configured source's host"):
        fetch_and_store(settings, factory, "http://127.0.0.3/")
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Article)) == 0


def test_a_recheck_of_the_page_never_replaces_what_the_cms_pushed(
    factory: sessionmaker[Session], portal: DemoPortal
) -> None:
    """The page's extraction differs from the CMS's text: reading it must not edit the posts."""
    settings = portal_settings(portal)
    newest = portal.newest()[0]
    pushed = store_pushed(factory, settings, pushed_for(portal, newest.k))
    reading = SourceReading(
        settings.source("demo"), Fetcher(), reader_for("cms-portal"), tz=settings.tz
    )
    later = datetime.now(UTC) + timedelta(hours=1)
    report = recheck_source(factory, reading, now=later)
    assert report.checked >= 1 and pushed.article_id not in report.updated
    with factory() as session:
        article = session.get_one(Article, pushed.article_id)
        assert (article.version, article.summary, article.pushed) == (
            1, "Tóm tắt do CMS gửi.", True,
        )  # fmt: skip
        assert article.last_checked_at is not None
    # a later push from the CMS is still the way to change it
    fixed = store_pushed(factory, settings, pushed_for(portal, newest.k, body="Đoạn đã sửa."))
    assert fixed.outcome == "updated"
