"""The story tasks are enqueued where the work appears: after a poll's planning and a split.

A real Redis as the broker: enqueued tasks land on a queue of this test's own
and are read back, so no worker ever sees them. The reconciler's sweep (what
a lost task falls back on) is tested in test_one_post.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import current_app
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from config.settings import Settings
from news.models import Delivery, DeliveryState
from news.poll import PollReport
from tasks import actions
from tasks.jobs import FEEDS_QUEUED
from tests.stories.test_one_post import copy_of, story_of

CONFIG = """
routes:
  - channel: "@tin_tuc"
"""


@pytest.fixture
def settings(tmp_path: Path, database_url: str, redis_url: str) -> Settings:
    path = tmp_path / "loa.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    environ = {"LOA_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url}
    return load_settings(path, environ={**environ, "REDIS_URL": redis_url})


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
    redis_client.delete(FEEDS_QUEUED)
    try:
        yield name
    finally:
        conf.task_default_queue = previous
        redis_client.delete(name, FEEDS_QUEUED)


def queued(client: redis.Redis, queue: str) -> list[tuple[str, list[object]]]:
    """(task name, args) of every message on `queue`, oldest first."""
    found = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        message = json.loads(raw)
        body = message["body"]
        args = json.loads(body if body.startswith("[") else base64.b64decode(body))
        found.append((message["headers"]["task"], list(args[0])))
    return found


def sent_all(factory: sessionmaker[Session]) -> None:
    """Every planned post went out (what the publish tasks would have done)."""
    with factory.begin() as session:
        session.execute(update(Delivery).values(state=DeliveryState.SENT, message_ids=[1]))


def test_a_poll_enqueues_the_edit_of_the_post_its_copy_joined(
    factory: sessionmaker[Session], settings: Settings, queue: str, redis_client: redis.Redis
) -> None:
    first = copy_of(factory, "bao-tinh", 1, None)
    planned = actions.announce_report(settings, factory, PollReport("bao-tinh", announce=[first]))
    ((post,),) = [args for name, args in queued(redis_client, queue) if name == "loa.publish"]
    assert [p.delivery_id for p in planned] == [post]
    sent_all(factory)
    second = copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first))
    redis_client.delete(queue)
    report = PollReport("cong-tinh-uy", announce=[second])
    assert actions.announce_report(settings, factory, report) == []
    assert queued(redis_client, queue) == [("loa.story_edits", [post])]


def test_a_split_enqueues_the_new_post_and_the_edit(
    factory: sessionmaker[Session], settings: Settings, queue: str, redis_client: redis.Redis
) -> None:
    first = copy_of(factory, "bao-tinh", 1, None)
    actions.announce_report(settings, factory, PollReport("bao-tinh", announce=[first]))
    sent_all(factory)
    second = copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first))
    actions.announce_report(settings, factory, PollReport("cong-tinh-uy", announce=[second]))
    redis_client.delete(queue)
    result = actions.split_story_article(settings, second, by=7, factory=factory)
    (new_post,) = [p.delivery_id for p in result.planned]
    assert queued(redis_client, queue) == [
        ("loa.publish", [new_post]),
        ("loa.story_edits", result.edits),
    ]


def test_an_article_stored_outside_a_poll_enqueues_its_edit_too(
    factory: sessionmaker[Session], settings: Settings, queue: str, redis_client: redis.Redis
) -> None:
    """/post, the CMS push and `loa post` share announce_stored: a copy is a link at once."""
    first = copy_of(factory, "bao-tinh", 1, None)
    announced = actions.announce_stored(settings, factory, first, "new")
    assert announced.queued == 1
    sent_all(factory)
    second = copy_of(factory, "cong-tinh-uy", 2, story_of(factory, first))
    redis_client.delete(queue)
    again = actions.announce_stored(settings, factory, second, "new")
    assert again.planned == [] and again.queued == 0
    (post,) = [p.delivery_id for p in announced.planned]
    assert queued(redis_client, queue) == [("loa.story_edits", [post])]
    # the HTTP API's repeated push: nothing planned for an article it did not create
    redis_client.delete(queue)
    assert actions.announce_stored(settings, factory, first, "unchanged", only_new=True) == (
        actions.Announced([], 0)
    )
    assert queued(redis_client, queue) == []
