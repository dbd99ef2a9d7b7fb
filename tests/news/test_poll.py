"""Polling a real HTTP portal: new articles stored once, failures recorded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session, sessionmaker

from config.settings import SourceConfig
from loa.demo_portal import DemoPortal
from news.errors import FetchError
from news.extract import reader_for
from news.fetch import Fetcher, make_session
from news.models import Article, SourceState
from news.poll import poll_source
from news.reading import SourceReading

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CMS = reader_for("cms-portal")


@pytest.fixture
def portal() -> Iterator[DemoPortal]:
    server = DemoPortal(port=0, started_at=time.time(), interval_seconds=3600, initial_articles=4)
    server.start()
    yield server
    server.stop()


def test_first_poll_stores_all_and_announces_only_the_newest(
    factory: sessionmaker[Session], portal: DemoPortal
) -> None:
    source = SourceConfig(name="demo", url=portal.url, announce_first_poll=1)
    report = poll_source(factory, SourceReading(source, Fetcher(), CMS, tz=TZ))
    assert report.first_poll
    assert report.links == 4
    assert len(report.new) == 4
    assert report.announce == report.new[:1]
    assert report.problems == []
    with factory() as session:
        articles = session.query(Article).all()
        assert len(articles) == 4
        for article in articles:
            assert article.published_at is not None and article.published_at.tzinfo is not None
            assert article.category is not None and article.category.slug
            assert article.summary and article.body

    again = poll_source(factory, SourceReading(source, Fetcher(), CMS, tz=TZ))
    assert not again.first_poll
    assert again.new == [] and again.announce == []
    with factory() as session:
        assert session.query(Article).count() == 4
        state = session.query(SourceState).one()
        assert state.polls == 2 and state.consecutive_failures == 0


class _Broken(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        self.send_response(503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def test_unreachable_listing_is_recorded_and_raised(factory: sessionmaker[Session]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        source = SourceConfig(name="broken", url=url)
        fetcher = Fetcher(make_session(retries=0))
        for _ in range(2):
            with pytest.raises(FetchError, match="HTTP 503") as info:
                poll_source(factory, SourceReading(source, fetcher, CMS, tz=TZ))
            assert info.value.url == url
    finally:
        server.shutdown()
        server.server_close()
    with factory() as session:
        state = session.query(SourceState).one()
        assert state.consecutive_failures == 2
        assert state.healthy  # the default alert threshold is 3 failures in a row
        assert state.last_error is not None and "503" in state.last_error
        assert state.last_success_at is None
