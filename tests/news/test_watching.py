"""Watching real HTTP sites (the fixture server): kinds, identity, corrections, health."""

from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.settings import SourceConfig
from news.db import utcnow
from news.errors import ExtractionError, FetchError, SourceError
from news.extract import reader_for
from news.fetch import Fetcher, make_session
from news.models import Article, ArticleStatus, Event, EventKind, SourceState
from news.poll import poll_source
from news.reading import SourceReading
from news.recheck import recheck_source
from tests.sites.server import SiteServer

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def _fetcher() -> Fetcher:
    return Fetcher(make_session(retries=0), timeout=(2.0, 2.0))


def _source(server: SiteServer, url: str, **kw: object) -> SourceConfig:
    return SourceConfig(name="cinet", url=server.url_for(url), **kw)  # type: ignore[arg-type]


def test_listing_poll_dedups_url_variants_and_answers_304_cheaply(
    factory: sessionmaker[Session], site_server: SiteServer
) -> None:
    source = _source(site_server, "http://cinet.test/kinh-te/", profile="news-modern")
    reader = reader_for("news-modern")
    report = poll_source(factory, SourceReading(source, _fetcher(), reader, tz=TZ))
    assert report.new and report.problems == []
    with factory() as session:
        identities = list(session.scalars(select(Article.identity)))
    assert len(identities) == len(set(identities)) == len(report.new)
    assert any("Loa/" in ua for ua in site_server.user_agents())

    article_hits = {a: site_server.hits(a) for a in site_server_paths(factory)}
    again = poll_source(factory, SourceReading(source, _fetcher(), reader, tz=TZ))
    assert again.not_modified and again.new == []
    assert {a: site_server.hits(a) for a in article_hits} == article_hits


def site_server_paths(factory: sessionmaker[Session]) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(Article.url)))


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("rss", "http://cinet.test/rss/tin-moi-nhat.rss"),
        ("rss", "http://cinet.test/atom.xml"),  # Atom goes through the same feed parser
        ("sitemap", "http://cinet.test/sitemap.xml"),  # an index: child sitemaps are read
    ],
)
def test_feeds_and_sitemaps_are_sources(
    factory: sessionmaker[Session], site_server: SiteServer, kind: str, url: str
) -> None:
    source = _source(site_server, url, kind=kind, profile="news-modern")
    report = poll_source(
        factory, SourceReading(source, _fetcher(), reader_for("news-modern"), tz=TZ)
    )
    assert len(report.new) >= 3, report.problems
    with factory() as session:
        for article in session.scalars(select(Article)):
            assert article.title and article.summary
            assert article.canonical_url.startswith("http")


def test_recheck_sees_corrections_and_withdrawals(
    factory: sessionmaker[Session], site_server: SiteServer
) -> None:
    source = _source(site_server, "http://cinet.test/kinh-te/", profile="news-modern")
    reader = reader_for("news-modern")
    report = poll_source(factory, SourceReading(source, _fetcher(), reader, tz=TZ))
    first, second = report.new[:2]
    with factory() as session:
        corrected = session.get_one(Article, first)
        gone = session.get_one(Article, second)
        corrected_url, gone_url = corrected.url, gone.url
    page = site_server.lookup(site_server._key(corrected_url))[1]
    assert page is not None
    new_body, count = re.subn(
        rb'(<h1 class="title-detail">).*?(</h1>)', rb"\1Tin da dinh chinh\2", page.body, flags=re.S
    )
    assert count == 1
    site_server.set_page(corrected_url, new_body)
    site_server.set_status(gone_url, 410)

    later = utcnow() + timedelta(hours=1)
    result = recheck_source(factory, SourceReading(source, _fetcher(), reader, tz=TZ), now=later)
    assert result.updated == [first]
    assert result.withdrawn == [second]
    with factory() as session:
        article = session.get_one(Article, first)
        assert article.version == 2 and article.title == "Tin da dinh chinh"
        assert session.get_one(Article, second).status is ArticleStatus.WITHDRAWN
        kinds = [e.kind for e in session.scalars(select(Event))]
        assert kinds == [EventKind.ARTICLE_WITHDRAWN]
    # within the re-check interval nothing is fetched again
    assert (
        recheck_source(factory, SourceReading(source, _fetcher(), reader, tz=TZ), now=later).checked
        == 0
    )


def test_failing_source_becomes_unhealthy_then_recovers(
    factory: sessionmaker[Session], site_server: SiteServer
) -> None:
    source = _source(
        site_server, "http://cinet.test/kinh-te/", profile="news-modern", unhealthy_after=2
    )
    reader = reader_for("news-modern")
    site_server.set_status(source.url, 503)
    for _ in range(3):
        with pytest.raises(FetchError):
            poll_source(factory, SourceReading(source, _fetcher(), reader, tz=TZ))
    with factory() as session:
        state = session.scalars(select(SourceState)).one()
        assert not state.healthy and state.consecutive_failures == 3
        assert [e.kind for e in session.scalars(select(Event))] == [EventKind.SOURCE_UNHEALTHY]
    site_server.set_status(source.url, None)
    poll_source(factory, SourceReading(source, _fetcher(), reader, tz=TZ))
    with factory() as session:
        state = session.scalars(select(SourceState)).one()
        assert state.healthy and state.consecutive_failures == 0
        kinds = [e.kind for e in session.scalars(select(Event).order_by(Event.id))]
        assert kinds == [EventKind.SOURCE_UNHEALTHY, EventKind.SOURCE_RECOVERED]


def test_robots_txt_is_respected_unless_disabled(
    factory: sessionmaker[Session], site_server: SiteServer
) -> None:
    site_server.set_robots("User-agent: *\nDisallow: /\n")
    source = _source(site_server, "http://cinet.test/kinh-te/", profile="news-modern")
    with pytest.raises(FetchError, match="robots.txt"):
        poll_source(factory, SourceReading(source, _fetcher(), reader_for("news-modern"), tz=TZ))
    relaxed = Fetcher(make_session(retries=0), respect_robots=False)
    report = poll_source(factory, SourceReading(source, relaxed, reader_for("news-modern"), tz=TZ))
    assert report.new


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/fault/huge", "larger than"),
        ("/fault/redirect-loop", "redirects"),
        ("/fault/timeout", "timed out"),
        ("/fault/404", "HTTP 404"),
    ],
)
def test_faults_give_clear_errors(site_server: SiteServer, path: str, message: str) -> None:
    fetcher = Fetcher(make_session(retries=0), timeout=(1.0, 1.0), respect_robots=False)
    with pytest.raises(FetchError, match=message) as info:
        fetcher.get(site_server.base_url + path)
    assert info.value.url is not None


def test_unchanged_listing_writes_nothing(
    factory: sessionmaker[Session], site_server: SiteServer
) -> None:
    source = _source(site_server, "http://cinet.test/kinh-te/", profile="news-modern")
    reader = reader_for("news-modern")
    poll_source(factory, SourceReading(source, _fetcher(), reader, tz=TZ))
    with factory() as session:
        before = session.scalars(select(SourceState)).one().last_polled_at
    assert poll_source(factory, SourceReading(source, _fetcher(), reader, tz=TZ)).not_modified
    with factory() as session:
        state = session.scalars(select(SourceState)).one()
        assert state.polls == 1 and state.last_polled_at == before
    # ... but after the heartbeat interval a 304 is recorded again
    later = utcnow() + timedelta(minutes=11)
    assert poll_source(
        factory, SourceReading(source, _fetcher(), reader, tz=TZ), now=later
    ).not_modified
    with factory() as session:
        assert session.scalars(select(SourceState)).one().polls == 2


def test_500_then_ok_is_retried_and_non_html_is_refused(site_server: SiteServer) -> None:
    retrying = Fetcher(make_session(retries=2), respect_robots=False)
    page = retrying.get(site_server.base_url + "/fault/500-then-ok")
    assert page.status == 200
    reader = reader_for("cms-portal")
    article = reader.article(
        page.content, url=page.url, now=utcnow(), tz=TZ, summary_chars=400,
        content_type=page.content_type,
    )  # fmt: skip
    assert article.title
    binary = _fetcher().get(site_server.base_url + "/fault/binary")
    with pytest.raises(ExtractionError, match="not an HTML page"):
        reader.article(
            binary.content, url=binary.url, now=utcnow(), tz=TZ, summary_chars=400,
            content_type=binary.content_type,
        )  # fmt: skip
    invalid = _fetcher().get(site_server.base_url + "/fault/invalid-html")
    with pytest.raises(ExtractionError):
        reader_for(None).article(
            invalid.content, url=invalid.url, now=utcnow(), tz=TZ, summary_chars=400
        )


def test_slow_drip_hits_the_download_deadline(site_server: SiteServer) -> None:
    fetcher = Fetcher(
        make_session(retries=0), timeout=(2.0, 2.0), max_seconds=0.5, respect_robots=False
    )
    with pytest.raises(FetchError, match="longer than"):
        fetcher.get(site_server.base_url + "/fault/slow-drip")


def test_legacy_encoded_page_is_flagged_once_not_stored(
    factory: sessionmaker[Session], site_server: SiteServer
) -> None:
    source = _source(site_server, "http://cinet.test/kinh-te/", profile="news-modern")
    reader = reader_for("news-modern")
    links = reader.links(_fetcher().get(source.url).content, base_url=source.url)
    tcvn3 = (
        "<html><head><title>Th«ng tin</title></head><body><h1 class='title-detail'>"
        "Th«ng tin ViÖt Nam</h1><p class='description'>Ho¹t ®éng cña tØnh ViÖt Nam "
        "trong n¨m míi</p><div class='fck_detail'><p>Néi dung bµi viÕt vÒ ViÖt Nam.</p>"
        "</div></body></html>"
    ).encode("cp1252")
    site_server.set_page(links[0], tcvn3, "text/html; charset=windows-1252")
    for moment in (utcnow(), utcnow() + timedelta(hours=1)):
        with factory.begin() as session:  # forget validators: the listing is read again
            for state in session.scalars(select(SourceState)):
                state.etag = state.last_modified = None
        report = poll_source(factory, SourceReading(source, _fetcher(), reader, tz=TZ), now=moment)
        assert any("TCVN3" in p for p in report.problems)
    with factory() as session:
        stored = list(session.scalars(select(Article.title)))
        assert not any("«" in t or "Ö" in t for t in stored)
        flagged = list(
            session.scalars(select(Event).where(Event.kind == EventKind.ARTICLE_FLAGGED))
        )
        assert len(flagged) == 1 and "TCVN3" in flagged[0].message


@pytest.mark.parametrize(
    ("path", "health_message"),
    [
        ("/fault/404", "HTTP 404"),
        ("/fault/timeout", "timed out"),
        ("/fault/slow-drip", "longer than"),
        ("/fault/huge", "larger than"),
        ("/fault/redirect-loop", "redirects"),
        ("/fault/binary", "not an HTML page"),
    ],
)
def test_a_faulty_listing_leaves_a_clear_health_status(
    factory: sessionmaker[Session], site_server: SiteServer, path: str, health_message: str
) -> None:
    source = SourceConfig(name="faulty", url=site_server.base_url + path, profile="cms-portal")
    fetcher = Fetcher(
        make_session(retries=0), timeout=(1.0, 1.0), max_seconds=0.5, respect_robots=False
    )
    with pytest.raises(SourceError):
        poll_source(factory, SourceReading(source, fetcher, reader_for("cms-portal"), tz=TZ))
    with factory() as session:
        state = session.scalars(select(SourceState)).one()
        assert state.consecutive_failures == 1
        assert state.last_error is not None and health_message in state.last_error
        assert state.last_error.split(":")[0] in {"FetchError", "ExtractionError"}


def test_invalid_html_listing_and_flaky_server_do_not_crash_the_poll(
    factory: sessionmaker[Session], site_server: SiteServer
) -> None:
    junk = SourceConfig(name="junk", url=site_server.base_url + "/fault/invalid-html")
    report = poll_source(factory, SourceReading(junk, _fetcher(), reader_for(None), tz=TZ))
    assert report.new == [] and report.links == 0
    flaky = SourceConfig(name="flaky", url=site_server.base_url + "/fault/500-then-ok")
    retrying = Fetcher(make_session(retries=2), respect_robots=False)
    poll_source(
        factory, SourceReading(flaky, retrying, reader_for("cms-portal"), tz=TZ)
    )  # 500, 500, then 200
    assert site_server.hits("/fault/500-then-ok") == 3
    with factory() as session:
        states = list(session.scalars(select(SourceState)))
        assert all(s.consecutive_failures == 0 and s.healthy for s in states)
