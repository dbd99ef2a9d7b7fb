"""The shared Telegram limiter, on a real Redis."""

from __future__ import annotations

import threading
import time
import uuid

import redis

from bot.limiter import SAFETY_MS, Limits, TelegramLimiter, is_private


def limiter(client: redis.Redis, **limits: float) -> TelegramLimiter:
    return TelegramLimiter(client, Limits(**limits), prefix=f"loa:test:{uuid.uuid4().hex}")  # type: ignore[arg-type]


def test_chat_kinds() -> None:
    assert is_private(12345) and is_private("12345")
    assert not is_private("-1001234567890") and not is_private("@loa_demo")


def test_private_chat_gets_one_message_a_second(redis_client: redis.Redis) -> None:
    lim = limiter(redis_client)
    assert lim.reserve(42) == 0
    wait = lim.reserve(42)
    assert 0.5 < wait <= 1.0 + SAFETY_MS / 1000
    assert lim.reserve(43) == 0  # another chat is not affected


def test_channel_gets_twenty_a_minute(redis_client: redis.Redis) -> None:
    lim = limiter(redis_client)
    assert all(lim.reserve("@kenh") == 0 for _ in range(20))
    assert 50 < lim.reserve("@kenh") <= 60 + SAFETY_MS / 1000


def test_global_cap_holds_across_threads(redis_client: redis.Redis) -> None:
    lim = limiter(redis_client, global_per_second=10)
    booked: list[float] = []
    lock = threading.Lock()

    def sender(n: int) -> None:
        other = TelegramLimiter(
            redis.Redis(connection_pool=redis_client.connection_pool), lim.limits, prefix=lim.prefix
        )
        for i in range(5):
            assert other.wait_turn(f"{n}{i}", max_wait=10) >= 0
            with lock:
                booked.append(time.monotonic())

    threads = [threading.Thread(target=sender, args=(n + 1,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    booked.sort()
    assert len(booked) == 30
    for i in range(len(booked) - 10):  # any 11 consecutive sends span at least ~1 s
        assert booked[i + 10] - booked[i] >= 0.95


def test_429s_pause_a_chat_then_everything(redis_client: redis.Redis) -> None:
    lim = limiter(redis_client, pause_after_429s=3)
    assert lim.note_429("@a", 2) is False
    assert 1.0 < lim.reserve("@a") <= 2.0
    assert lim.reserve("@b") == 0
    lim.note_429("@b", 2)
    assert lim.note_429("@c", 2) is True
    assert lim.reserve("@d") > 1.0  # global pause
    assert lim.wait_turn("@d", max_wait=0.1) < 0  # too long to wait: caller reschedules
