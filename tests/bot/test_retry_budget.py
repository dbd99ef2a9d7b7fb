"""Waiting for Telegram's flood control does not use up the budget for real failures.

`publish.max_attempts` bounds transient failures (5xx, timeouts). A 429 or a
deferral (no rate-limit turn yet) is Telegram asking Loa to wait, not a
failure: before, every such claim counted as an attempt, so a delivery that
waited out a minute of 429s was failed for good by the first 502 after it.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from bot.publisher import Publisher, PublishStatus
from news import ledger
from news.db import utcnow
from news.models import Delivery
from telegram_emulator import Emulator
from tests.helpers import extracted, store_article


def test_429s_do_not_count_against_max_attempts(
    factory: sessionmaker[Session], publisher: Publisher, telegram_emulator: Emulator
) -> None:
    telegram_emulator.create_chat("channel", username="kenh_cho")
    throttled = publisher.settings.publish.max_attempts + 3
    telegram_emulator.add_fault("retry_after", times=throttled, retry_after=1)
    article_id = store_article(factory, extracted(31)).article_id
    with factory.begin() as session:
        (delivery_id,) = ledger.plan_deliveries(session, article_id, ["@kenh_cho"])
    limiter = publisher.limiter
    assert limiter is not None
    now = utcnow()
    outcomes = []
    for _ in range(throttled + 2):
        for key in limiter.client.scan_iter(f"{limiter.prefix}:pause*"):
            limiter.client.delete(key)  # the wait is over (the clock below moves on)
        now += timedelta(seconds=2)
        outcome = publisher.publish(delivery_id, now=now)
        outcomes.append(outcome.status)
        if outcome.status is not PublishStatus.RETRY:
            break
        if len(outcomes) == throttled:  # the 429s are over; Telegram now has a bad gateway
            telegram_emulator.add_fault("bad_gateway", times=1)
    assert outcomes.count(PublishStatus.RETRY) == throttled + 1, outcomes
    assert outcomes[-1] is PublishStatus.SENT, outcomes
    with factory() as session:
        assert session.get_one(Delivery, delivery_id).attempts == 2  # the 502 and the send
