"""Scenario 2: Redis stopped in the middle of a fan-out, restarted empty.

Everything Redis held is gone: queued and unacknowledged tasks, the limiter's
counters, the beat lock. The ledger in the database still says what is due,
so the reconciler (scheduled by beat) re-enqueues it once Redis is back: no
human restarts anything, and nothing is lost. The scenario always runs a
redis-server of its own (never the machine's shared one, even with REDIS_URL).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest

from telegram_emulator import Emulator
from tests.faults.harness import Newsroom, PrivateRedis, wait_for
from tests.faults.report import record
from tests.faults.sizes import REDIS_OUTAGE, RedisOutage, params

#: The short run uses the transport the backend run stands for (`loa run`'s bundled
#: socket, or a REDIS_URL deployment's TCP); the long run tries both.
SHORT_TRANSPORT = "tcp" if os.environ.get("REDIS_URL") else "socket"
CASES = [
    pytest.param(size.values[0], transport, id=f"{size.id}-{transport}", marks=size.marks)
    for size in params(REDIS_OUTAGE)
    for transport in ("socket", "tcp")
    if size.id == "long" or transport == SHORT_TRANSPORT
]


@pytest.mark.parametrize(("size", "transport"), CASES)
def test_redis_stopped_and_restarted_empty(
    newsroom_factory: Callable[..., Newsroom],
    telegram_emulator: Emulator,
    tmp_path: Path,
    size: RedisOutage,
    transport: str,
) -> None:
    broker = PrivateRedis(tmp_path / "private-redis", tcp=transport == "tcp")
    broker.start()
    try:
        room = newsroom_factory(
            emulator=telegram_emulator,
            chats=size.chats,
            articles=size.articles,
            redis_url=broker.url,
            publish={"global_per_second": size.per_second, "stuck_after_seconds": 2},
        )
        total = size.chats * size.articles
        worker = room.worker(concurrency=2)
        beat = room.start("beat")  # polls at its start, holds the beat lock in Redis
        wait_for(lambda: room.delivered() >= 1, timeout=90, what="the fan-out under way")
        broker.stop()
        stopped_at = time.monotonic()
        at_stop = room.delivered()
        time.sleep(size.outage)
        broker.start()  # empty: no queue, no limiter state, no beat lock
        restarted_at = time.monotonic()
        with ExitStack() as stack:
            if size.reconcile_every < 60:
                stack.enter_context(room.reconciler(size.reconcile_every))
            try:
                wait_for(
                    lambda: room.delivered() == total and room.ledger().settled == total,
                    timeout=size.recovery_timeout,
                    what="every delivery after Redis came back",
                )
            except AssertionError:
                pass  # the row below shows what was missing
        recovery = time.monotonic() - restarted_at
        tally = room.tally()
        view = room.ledger()
        record(
            tally.row(
                f"2 Redis ({transport}) down {size.outage:.0f} s, back empty ({size.chats} chats)",
                recovery,
                f"{at_stop} sent before the stop; worker "
                f"{'alive' if worker.alive() else 'exited'}, beat "
                f"{'alive' if beat.alive() else 'exited'} "
                f"({time.monotonic() - stopped_at:.0f} s after the stop)",
            )
        )
        assert at_stop < total, "the fan-out finished before Redis stopped: slow it down"
        assert tally.lost == 0, tally
        assert tally.duplicated == 0, tally.duplicates
        assert view.states == {"sent": total}, view
        assert worker.alive(), worker.output()[-3000:]
        assert beat.alive(), beat.output()[-3000:]
    finally:
        broker.stop()
