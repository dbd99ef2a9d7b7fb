"""Publishing end to end: ledger → Celery (real Redis) → worker processes → Bot API emulator.

Also the two failures a newsroom fears most: a worker killed with SIGKILL in
the middle of a 50-channel fan-out, and a storm of 429s.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from news import ledger
from news.models import Delivery, DeliveryState
from tasks.app import create_celery_app
from telegram_emulator import Emulator
from tests.helpers import extracted, store_article
from tests.workers import start_worker, stop_worker, wait_for, worker_env

pytestmark = pytest.mark.e2e
TOKEN = "987654:" + "B" * 35


def _setup(
    emulator: Emulator, database_url: str, redis_url: str, tmp_path: Path, **extra: str
) -> tuple[dict[str, str], Any]:
    env = worker_env(
        database_url,
        redis_url,
        tmp_path,
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=emulator.base_url,
        **extra,
    )
    app = create_celery_app(load_settings(None, environ=env))
    app.control.purge()
    import redis

    from tasks.runtime import redis_client_url

    client = redis.Redis.from_url(redis_client_url(redis_url))
    for key in client.scan_iter("loa:tg:*"):  # limiter state of earlier tests
        client.delete(key)
    client.close()
    return env, app


def _plan(factory: sessionmaker[Session], article_id: int, chats: list[str]) -> list[int]:
    with factory.begin() as session:
        return ledger.plan_deliveries(session, article_id, chats)


def _settled(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.state.in_([DeliveryState.SENT, DeliveryState.FAILED]))
            )
            or 0
        )


def test_article_reaches_three_channels_through_a_real_worker(
    factory: sessionmaker[Session],
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    telegram_emulator: Emulator,
) -> None:
    chats = [telegram_emulator.create_chat("channel", username=f"kenh_{n}") for n in range(3)]
    env, app = _setup(telegram_emulator, database_url, redis_url, tmp_path)
    article_id = store_article(factory, extracted(1, title="Tin <mới> & nóng")).article_id
    ids = _plan(factory, article_id, [f"@kenh_{n}" for n in range(3)])
    worker = start_worker(env, tmp_path, concurrency=2)
    try:
        for delivery_id in ids:
            app.send_task("loa.publish", args=(delivery_id,))
        wait_for(lambda: _settled(factory) == 3, timeout=60, what="3 deliveries")
    finally:
        stop_worker(worker)
    for chat in chats:
        (message,) = telegram_emulator.messages(chat["id"])
        assert message.text is not None and message.text.startswith("Tin <mới> & nóng")
        assert message.reply_markup is not None
        assert message.link_preview_options is not None
        assert message.link_preview_options["url"].endswith("/images/1.jpg")


def test_sigkill_mid_fanout_loses_nothing_and_duplicates_at_most_in_flight(
    factory: sessionmaker[Session],
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    telegram_emulator: Emulator,
) -> None:
    chats = [telegram_emulator.create_chat("channel", username=f"k{n}") for n in range(50)]
    telegram_emulator.add_fault("latency", seconds=0.1, methods=["sendMessage"])
    env, app = _setup(
        telegram_emulator,
        database_url,
        redis_url,
        tmp_path,
        LOA_PUBLISH='{"stuck_after_seconds": 2}',
    )
    article_id = store_article(factory, extracted(2)).article_id
    ids = _plan(factory, article_id, [f"@k{n}" for n in range(50)])
    concurrency = 2
    worker = start_worker(env, tmp_path, concurrency=concurrency)
    try:
        for delivery_id in ids:
            app.send_task("loa.publish", args=(delivery_id,))
        wait_for(lambda: len(telegram_emulator.sent()) >= 10, timeout=60, what="10 messages")
    finally:
        stop_worker(worker, hard=True)  # SIGKILL the whole worker, pool included
    accepted_at_kill = len(telegram_emulator.sent())
    assert accepted_at_kill < 50, "the fan-out finished before the kill: slow it down"

    time.sleep(2.5)  # rows the dead worker held in 'sending' are now stuck
    worker = start_worker(env, tmp_path, concurrency=concurrency)
    try:
        # Redis would hand the dead worker's tasks out again only after an hour:
        # the reconciler, from the database, re-enqueues what is due.
        app.send_task("loa.reconcile")
        wait_for(lambda: _settled(factory) == 50, timeout=120, what="all 50 deliveries settled")
    finally:
        stop_worker(worker)

    per_chat = Counter(m.chat_id for m in telegram_emulator.sent())
    assert set(per_chat) == {c["id"] for c in chats}, "a channel never got the article"
    duplicates = sum(n - 1 for n in per_chat.values())
    assert duplicates <= concurrency  # only messages in flight at the kill can repeat
    with factory() as session:
        rows = list(session.scalars(select(Delivery)))
        assert all(r.state is DeliveryState.SENT for r in rows)
        assert sum(r.possible_duplicate for r in rows) >= duplicates  # counted, not hidden


def test_429_storm_delivers_everything_within_the_limits(
    factory: sessionmaker[Session],
    database_url: str,
    redis_url: str,
    tmp_path: Path,
    telegram_emulator: Emulator,
) -> None:
    # Private chats: 1 message a second each, enforced by the emulator with real 429s.
    readers = [telegram_emulator.create_user(5000 + n) for n in range(3)]
    for reader in readers:
        telegram_emulator.add_fault("retry_after", chat_id=reader["id"], times=2, retry_after=1)
    env, app = _setup(telegram_emulator, database_url, redis_url, tmp_path)
    ids: list[int] = []
    for n in range(6):
        article_id = store_article(factory, extracted(10 + n)).article_id
        ids += _plan(factory, article_id, [str(r["id"]) for r in readers])
    worker = start_worker(env, tmp_path, concurrency=2)
    try:
        for delivery_id in ids:
            app.send_task("loa.publish", args=(delivery_id,))
        wait_for(lambda: _settled(factory) == len(ids), timeout=120, what="all deliveries")
    finally:
        stop_worker(worker)
    sent = telegram_emulator.sent()
    assert len(sent) == len(ids) == 18
    assert Counter(m.chat_id for m in sent) == {r["id"]: 6 for r in readers}
    throttled = [c for c in telegram_emulator.calls() if c["status"] == 429]
    assert len(throttled) == 6  # only the injected ones: our limiter never tripped Telegram's
    for reader in readers:
        times = sorted(m.accepted_at for m in sent if m.chat_id == reader["id"])
        gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
        assert min(gaps) >= 0.95  # never faster than 1 message a second per private chat
