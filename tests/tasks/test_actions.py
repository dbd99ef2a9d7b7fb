"""What follows an editor's action (tasks.actions), and pauses in the poll tasks.

A real portal (the demo CMS on loopback), the test database, a real Redis as
the broker: enqueued tasks land on a queue of this test's own, read back from
Redis, so no other test's worker ever sees them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import Settings
from loa.demo_portal import DemoPortal
from news import editorial
from news.errors import EditorialError
from news.models import Article, PauseKind, RenderedFeed, Source
from tasks import actions, jobs, runtime
from tests.helpers import extracted, store_article

CONFIG = """
host_min_delay: 0
sources:
  - name: demo
    url: {url}
    profile: cms-portal
    announce_first_poll: 2
    respect_robots: false
  - name: down
    url: http://127.0.0.1:9/
    respect_robots: false
routes:
  - channel: "@tin_tuc"
"""


@pytest.fixture
def portal() -> Iterator[DemoPortal]:
    server = DemoPortal(port=0, started_at=time.time(), interval_seconds=3600, initial_articles=4)
    server.start()
    yield server
    server.stop()


def _settings(tmp_path: Path, url: str, **env: str) -> Settings:
    path = tmp_path / "loa.yaml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return load_settings(path, environ={"LOA_DATA_DIR": str(tmp_path / "data"), **env})


@pytest.fixture
def settings(tmp_path: Path, portal: DemoPortal, database_url: str, redis_url: str) -> Settings:
    return _settings(tmp_path, portal.url, DATABASE_URL=database_url, REDIS_URL=redis_url)


@pytest.fixture
def queue(settings: Settings, redis_client: redis.Redis) -> Iterator[str]:
    """This test's own Celery queue: what the actions enqueue, and nobody consumes."""
    assert actions.connect(settings)
    name = f"loa-test-{uuid.uuid4().hex}"
    conf = current_app.conf
    previous = conf.task_default_queue
    conf.task_default_queue = name
    # a feed rebuild another test queued (its debounce key lives on in the shared Redis)
    # would swallow this test's: start and end with none pending
    redis_client.delete(jobs.FEEDS_QUEUED)
    try:
        yield name
    finally:
        conf.task_default_queue = previous
        redis_client.delete(name, jobs.FEEDS_QUEUED)


def _queued(client: redis.Redis, queue: str) -> list[tuple[str, list[object]]]:
    """(task name, args) of every message on `queue`, oldest first."""
    found = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        message = json.loads(raw)
        args = json.loads(message["body"]) if message["body"].startswith("[") else None
        if args is None:
            import base64

            args = json.loads(base64.b64decode(message["body"]))
        found.append((message["headers"]["task"], list(args[0])))
    return found


def test_poll_now_polls_announces_and_enqueues_the_sends(
    factory: sessionmaker[Session], settings: Settings, queue: str, redis_client: redis.Redis
) -> None:
    summary = actions.poll_now(settings, factory, "demo")
    assert (summary.new, summary.updated, summary.withdrawn) == (4, 0, 0)
    assert summary.errors == () and summary.source == "demo" and summary.planned == 2
    queued = _queued(redis_client, queue)
    publishes = [args for name, args in queued if name == "loa.publish"]
    assert len(publishes) == 2  # the newest two: `announce_first_poll`
    assert ("loa.rebuild_feeds", []) in queued
    again = actions.poll_now(settings, factory, "demo")
    assert (again.new, again.updated, again.withdrawn, again.planned) == (0, 0, 0, 0)


def test_poll_now_refuses_a_paused_source_unless_forced(
    factory: sessionmaker[Session], settings: Settings, queue: str
) -> None:
    editorial.pause(factory, PauseKind.SOURCE, "demo")
    with pytest.raises(EditorialError, match="source demo is paused"):
        actions.poll_now(settings, factory, "demo")
    with factory() as session:
        assert session.scalars(select(Article)).all() == []  # nothing was fetched
    assert actions.poll_now(settings, factory, "demo", force=True).new == 4


def test_poll_now_names_unknown_sources_and_reports_failures(
    factory: sessionmaker[Session], settings: Settings, queue: str
) -> None:
    with pytest.raises(EditorialError, match=r"no source named 'nope' \(configured: demo, down\)"):
        actions.poll_now(settings, factory, "nope")
    summary = actions.poll_now(settings, factory, "down")
    assert summary.new == 0 and len(summary.errors) == 1
    assert "127.0.0.1:9" in summary.errors[0]


def test_dispatch_without_a_broker_leaves_the_work_to_the_reconciler(
    factory: sessionmaker[Session], tmp_path: Path, portal: DemoPortal, database_url: str
) -> None:
    settings = _settings(tmp_path, portal.url, DATABASE_URL=database_url)
    assert not actions.connect(settings)
    assert actions.dispatch_publish([1, 2], settings=settings) == 0
    article_id = store_article(factory, extracted(1, title="Tin gỡ ngay")).article_id
    editorial.withdraw(factory, str(article_id), by="test")
    # No queue: the posts wait for the reconciler, the feeds are rebuilt right here.
    assert actions.dispatch_withdrawn(article_id, settings=settings, factory=factory) is False
    with factory() as session:
        bodies = session.scalars(select(RenderedFeed.body)).all()
    assert bodies and not any("Tin gỡ ngay".encode() in body for body in bodies)


def test_dispatch_publish_and_withdrawn_enqueue_the_tasks(
    factory: sessionmaker[Session], settings: Settings, queue: str, redis_client: redis.Redis
) -> None:
    redis_client.delete("loa:feeds:rebuild-queued")
    assert actions.dispatch_publish([11, 12], settings=settings) == 2
    assert actions.dispatch_withdrawn(7, settings=settings) is True
    queued = _queued(redis_client, queue)
    assert queued[:3] == [("loa.publish", [11]), ("loa.publish", [12]), ("loa.fix_posts", [7])]
    assert ("loa.rebuild_feeds", []) in queued


def test_the_poll_tasks_skip_a_paused_source(
    factory: sessionmaker[Session], settings: Settings, redis_client: redis.Redis
) -> None:
    runtime.configure(settings)
    redis_client.delete("loa:poll:slot:down")  # a poll of an earlier run claimed the slot
    try:
        editorial.pause(factory, PauseKind.SOURCE, "down")
        jobs.poll_source("down")  # called in this process, as a worker would
        jobs.recheck_source("down")
        with factory() as session:
            assert session.scalars(select(Source)).all() == []  # never fetched nor recorded
        editorial.resume(factory, PauseKind.SOURCE, "down")
        editorial.pause(factory, PauseKind.ALL)
        jobs.poll_source("down")
        with factory() as session:
            assert session.scalars(select(Source)).all() == []
        editorial.resume(factory, PauseKind.ALL)
        jobs.poll_source("down")  # resumed: polled (and failing, the port is closed)
        with factory() as session:
            assert [s.name for s in session.scalars(select(Source))] == ["down"]
    finally:
        runtime.get_runtime().close()
