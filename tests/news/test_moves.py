"""Articles keep their identity when their address changes.

Two ways an address changes under Loa: the source moves (its host or port in
the config changes, as the demo portal's port did on each start), or a portal
whose URL slug follows the title corrects a title (the old URL answers 404).
Neither may announce anything again, and a correction is a correction, not a
withdrawal. Real HTTP (the fixture server), real databases.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import SourceConfig
from loa.cli_tools import print_status
from news.db import utcnow
from news.extract import reader_for
from news.fetch import Fetcher, make_session
from news.models import Article, ArticleStatus, Event, EventKind
from news.poll import poll_source
from news.reading import SourceReading
from news.recheck import recheck_source
from news.status import current_status
from tests.sites.server import SiteServer
from tests.sites.slug_portal import SlugPortal

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
MODERN = reader_for("news-modern")


def _fetcher() -> Fetcher:
    return Fetcher(make_session(retries=0), timeout=(2.0, 2.0))


def _cinet(server: SiteServer, name: str = "cinet") -> SourceConfig:
    return SourceConfig(
        name=name, url=server.url_for("http://cinet.test/kinh-te/"), profile="news-modern"
    )


def _articles(factory: sessionmaker[Session]) -> list[Article]:
    with factory() as session:
        return list(session.scalars(select(Article).order_by(Article.id)))


def _events(factory: sessionmaker[Session], kind: EventKind) -> list[Event]:
    with factory() as session:
        return list(session.scalars(select(Event).where(Event.kind == kind)))


# ------------------------------------------------------------ a source moves


def test_a_source_on_a_new_port_announces_nothing_again(
    factory: sessionmaker[Session], site_server: SiteServer, capsys: pytest.CaptureFixture[str]
) -> None:
    first = poll_source(factory, SourceReading(_cinet(site_server), _fetcher(), MODERN, tz=TZ))
    assert len(first.new) >= 3 and first.problems == []
    before = {a.id: (a.identity, a.content_hash, a.updated_at) for a in _articles(factory)}
    old_base = site_server.base_url

    new_base = site_server.move_to_new_port()
    assert new_base != old_base
    listing = _cinet(site_server).url
    touched = _fetcher().get(listing).content + b"<!-- the listing changed since -->"
    site_server.set_page(listing, touched)  # so it is read again, as a live site's would be
    again = poll_source(factory, SourceReading(_cinet(site_server), _fetcher(), MODERN, tz=TZ))

    assert again.new == [] and again.announce == [] and again.updated == []
    assert again.problems == []
    articles = _articles(factory)
    assert {a.id: (a.identity, a.content_hash, a.updated_at) for a in articles} == before
    for article in articles:  # addresses quietly follow the source
        assert article.url.startswith(new_base + "/") and article.version == 1
        assert article.canonical_url.startswith(new_base + "/")
    moved = _events(factory, EventKind.SOURCE_MOVED)
    assert len(moved) == 1 and old_base in moved[0].message and new_base in moved[0].message

    # young articles are re-checked at the new address: nothing gone, nothing changed
    later = utcnow() + timedelta(hours=1)
    check = recheck_source(
        factory, SourceReading(_cinet(site_server), _fetcher(), MODERN, tz=TZ), now=later
    )
    assert check.checked == len(articles) and check.problems == []
    assert check.withdrawn == [] and check.updated == []

    snapshot = current_status(factory)
    assert len(snapshot.source_warnings) == 1
    assert "cinet" in snapshot.source_warnings[0] and new_base in snapshot.source_warnings[0]
    print_status(snapshot)
    assert f"warning: source cinet moved from {old_base} to {new_base}" in capsys.readouterr().out


def test_articles_of_another_source_are_never_matched(
    factory: sessionmaker[Session], site_server: SiteServer
) -> None:
    """Same site, same CMS ids, other host: another source's articles are its own."""
    other = SiteServer().start()
    try:
        mine = poll_source(factory, SourceReading(_cinet(site_server), _fetcher(), MODERN, tz=TZ))
        theirs = poll_source(
            factory, SourceReading(_cinet(other, "mirror"), _fetcher(), MODERN, tz=TZ)
        )
        assert len(theirs.new) == len(mine.new) and not set(theirs.new) & set(mine.new)
        assert _events(factory, EventKind.SOURCE_MOVED) == []
        # a correction on the mirror changes the mirror's article only
        with factory() as session:
            target = session.get_one(Article, theirs.new[0])
            url, twin_title = target.url, target.title
        page = other.lookup(other._key(url))[1]
        assert page is not None
        other.set_page(url, page.body.replace(b'class="title-detail">', b'class="title-detail">X '))
        later = utcnow() + timedelta(hours=1)
        check = recheck_source(
            factory, SourceReading(_cinet(other, "mirror"), _fetcher(), MODERN, tz=TZ), now=later
        )
        assert check.updated == [theirs.new[0]]
        with factory() as session:
            assert session.get_one(Article, theirs.new[0]).title == f"X {twin_title}"
            untouched = session.scalars(select(Article).where(Article.id.in_(mine.new)))
            assert all(a.version == 1 and not a.title.startswith("X ") for a in untouched)
    finally:
        other.stop()


# ------------------------------------------------------------ a title correction moves the URL


def _slug_source(portal: SlugPortal) -> SourceConfig:
    return SourceConfig(name="slug", url=portal.listing_url, profile="news-modern")


def test_a_corrected_title_at_a_new_url_is_a_correction_seen_by_the_poll(
    factory: sessionmaker[Session], slug_portal: SlugPortal
) -> None:
    source = _slug_source(slug_portal)
    first = poll_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ))
    assert len(first.new) == 3
    with factory() as session:
        target = session.scalars(select(Article).where(Article.url == slug_portal.url_of(102)))
        article_id, stamped = (a := target.one()).id, a.updated_at

    new_url = slug_portal.correct_title(102, "Khánh thành cầu treo dân sinh nối hai xã vùng cao")
    again = poll_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ))

    assert again.new == [] and again.announce == []
    assert again.updated == [article_id]
    articles = _articles(factory)
    assert len(articles) == 3
    corrected = next(a for a in articles if a.id == article_id)
    assert corrected.title == "Khánh thành cầu treo dân sinh nối hai xã vùng cao"
    assert corrected.version == 2 and corrected.updated_at > stamped
    assert corrected.url == new_url and corrected.canonical_url == new_url
    assert corrected.status is ArticleStatus.ACTIVE

    # the re-check now reads the new URL: nothing is withdrawn
    later = utcnow() + timedelta(hours=1)
    check = recheck_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ), now=later)
    assert check.withdrawn == [] and check.updated == [] and check.problems == []


def test_a_recheck_that_meets_the_404_follows_the_listing_to_the_new_url(
    factory: sessionmaker[Session], slug_portal: SlugPortal
) -> None:
    source = _slug_source(slug_portal)
    first = poll_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ))
    with factory() as session:
        article_id = session.scalars(
            select(Article.id).where(Article.url == slug_portal.url_of(101))
        ).one()
    old_url = slug_portal.url_of(101)
    new_url = slug_portal.correct_title(101, "Hội nghị tổng kết công tác tuyên giáo năm 2024")

    later = utcnow() + timedelta(hours=1)
    check = recheck_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ), now=later)

    assert check.withdrawn == [] and check.updated == [article_id]
    assert _events(factory, EventKind.ARTICLE_WITHDRAWN) == []
    with factory() as session:
        article = session.get_one(Article, article_id)
        assert article.status is ArticleStatus.ACTIVE and article.version == 2
        assert article.url == new_url != old_url
        assert article.title.endswith("năm 2024")
    # the poll that follows finds nothing new or changed
    again = poll_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ))
    assert again.new == [] and again.updated == [] and len(_articles(factory)) == len(first.new)


def test_a_lagging_listing_withdraws_then_the_poll_brings_the_article_back(
    factory: sessionmaker[Session], slug_portal: SlugPortal
) -> None:
    """The old URL 404s while the listing still shows it: withdrawn (the page says so);
    once the listing shows the new URL, the poll restores the article as a correction."""
    source = _slug_source(slug_portal)
    poll_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ))
    with factory() as session:
        article_id = session.scalars(
            select(Article.id).where(Article.url == slug_portal.url_of(103))
        ).one()
    new_url = slug_portal.correct_title(
        103, "Tỉnh đón gần hai triệu lượt khách du lịch dịp Tết", relist=False
    )
    later = utcnow() + timedelta(hours=1)
    check = recheck_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ), now=later)
    assert check.withdrawn == [article_id]

    slug_portal.publish_listing()
    again = poll_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ))
    assert again.new == [] and again.updated == [article_id]
    with factory() as session:
        article = session.get_one(Article, article_id)
        assert article.status is ArticleStatus.ACTIVE and article.withdrawn_at is None
        assert article.url == new_url and article.version == 2
    restored = _events(factory, EventKind.ARTICLE_RESTORED)
    assert len(restored) == 1 and restored[0].article_id == article_id


def test_a_listed_link_that_redirects_is_not_read_again_on_every_poll(
    factory: sessionmaker[Session], site_server: SiteServer
) -> None:
    """The stored URL is where the redirect ends; the listed one is remembered too."""
    source = _cinet(site_server)
    links = MODERN.links(_fetcher().get(source.url).content, base_url=source.url)
    link = links[0]
    target = link.rsplit("/", 1)[0] + "/bai-viet-" + link.rsplit("-", 1)[1]
    body = _fetcher().get(link).content.replace(link.encode(), target.encode())
    site_server.set_page(target, body)  # its canonical link names the target, not the link
    site_server.set_redirect(link, target)

    first = poll_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ))
    assert len(first.new) == len(links)
    with factory() as session:
        stored = session.scalars(select(Article).where(Article.url == target)).one()
        assert stored.canonical_url == target and stored.listed_url == link
    reads = site_server.hits(target)
    touched = _fetcher().get(source.url).content + b"<!-- the listing changed since -->"
    site_server.set_page(source.url, touched)
    again = poll_source(factory, SourceReading(source, _fetcher(), MODERN, tz=TZ))
    assert again.new == again.updated == again.moved == [] and not again.not_modified
    assert site_server.hits(target) == reads
