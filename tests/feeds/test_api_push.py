"""CMS push end to end: HTTP → store → ledger → the emulator's channels; then a poll of the
same site posts nothing twice. SSRF cases use loopback addresses only."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loa.demo_portal import DemoPortal
from news.models import Delivery, DeliveryState
from telegram_emulator import Emulator
from tests.feeds.api_helpers import (
    CHATS,
    api_server,
    api_settings,
    client,
    emulator_publisher,
    redirecting_site,
)


@pytest.fixture
def portal() -> Iterator[DemoPortal]:
    server = DemoPortal(port=0, started_at=time.time(), interval_seconds=3600, initial_articles=3)
    server.start()
    yield server
    server.stop()


def pending(factory: sessionmaker[Session]) -> list[int]:
    with factory() as session:
        return list(
            session.scalars(
                select(Delivery.id)
                .where(Delivery.state == DeliveryState.PENDING)
                .order_by(Delivery.id)
            )
        )


def test_push_then_poll_posts_once_per_chat(
    tmp_path: Path,
    factory: sessionmaker[Session],
    portal: DemoPortal,
    telegram_emulator: Emulator,
    redis_client: redis.Redis,
) -> None:
    channels = {chat: telegram_emulator.create_chat("channel", username=chat[1:]) for chat in CHATS}
    source = {"name": "demo", "url": f"{portal.url}/", "profile": "cms-portal",
              "announce_first_poll": 3}  # fmt: skip
    settings = api_settings(tmp_path, sources=[source])
    newest = portal.newest()[0]
    push = {
        "title": newest.title,
        "url": f"{portal.url}{newest.path}",
        "published_at": newest.published.isoformat(),
        "category": newest.story.category,
        "summary": "Bản tin do CMS gửi ngay khi đăng.",
        "body": "Đoạn một.\nĐoạn hai.",
    }
    with (
        api_server(settings, factory) as base,
        emulator_publisher(
            factory, telegram_emulator.base_url, redis_client, tmp_path
        ) as publisher,
    ):
        http = client()
        answer = http.post(f"{base}/api/articles", json=push)
        assert answer.status_code == 201, answer.text
        planned = [d["id"] for d in answer.json()["deliveries"]]
        assert planned == pending(factory)
        for delivery_id in planned:  # what a worker does with the enqueued ids
            assert publisher.publish(delivery_id).status == "sent"
        for chat in CHATS:
            (message,) = telegram_emulator.messages(channels[chat]["id"])
            assert message.text is not None and message.text.startswith(newest.title)

        polled = http.post(f"{base}/api/sources/demo/poll")
        assert polled.status_code == 200, polled.text
        found = polled.json()
        assert found["source"] == "demo" and found["errors"] == []
        assert found["new"] == 2  # the two older stories; the pushed one is known
        for delivery_id in pending(factory):
            assert publisher.publish(delivery_id).status == "sent"
        assert pending(factory) == []
        again = http.post(f"{base}/api/articles", json=push)  # the CMS saves once more
        assert again.json()["outcome"] == "unchanged"

    for chat in CHATS:
        texts = [m.text or "" for m in telegram_emulator.messages(channels[chat]["id"])]
        titles = Counter(text.split("\n", 1)[0] for text in texts)
        assert len(texts) == 3, texts
        assert titles[newest.title] == 1, texts


def test_a_url_push_is_fetched_from_a_configured_source_on_loopback(
    tmp_path: Path, factory: sessionmaker[Session], portal: DemoPortal
) -> None:
    source = {"name": "demo", "url": f"{portal.url}/", "profile": "cms-portal"}
    settings = api_settings(tmp_path, sources=[source], allowed_hosts=["127.0.0.2"])
    port = portal.url.rsplit(":", 1)[1]
    art = portal.newest()[0]
    with api_server(settings, factory) as base:
        http = client()
        answer = http.post(f"{base}/api/articles", json={"url": f"{portal.url}{art.path}"})
        assert answer.status_code == 201, answer.text
        assert [d["chat"] for d in answer.json()["deliveries"]] == CHATS
        # 127.0.0.2 is listed in allowed_hosts, but no source lives there: loopback is refused
        refused = http.post(f"{base}/api/articles", json={"url": f"http://127.0.0.2:{port}/x"})
        assert refused.status_code == 422
        assert refused.json()["field"] == "url"
        assert "127.0.0.2 is a loopback address" in refused.json()["error"]
        elsewhere = http.post(f"{base}/api/articles", json={"url": "http://127.0.0.3/x"})
        assert elsewhere.status_code == 422
        assert "neither a configured source's host" in elsewhere.json()["error"]
        missing = http.post(f"{base}/api/articles", json={"url": f"{portal.url}/tin-tuc/x-9.html"})
        assert missing.status_code == 502 and "HTTP 404" in missing.json()["error"]


def test_a_redirect_from_the_allowed_host_to_another_loopback_address_is_refused(
    tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    with redirecting_site() as site:
        source = {"name": "site", "url": f"{site}/", "respect_robots": False}
        settings = api_settings(tmp_path, sources=[source], allowed_hosts=["127.0.0.3"])
        with api_server(settings, factory) as base:
            answer = client().post(f"{base}/api/articles", json={"url": f"{site}/away"})
    assert answer.status_code == 422
    assert "127.0.0.3 is a loopback address" in answer.json()["error"]
