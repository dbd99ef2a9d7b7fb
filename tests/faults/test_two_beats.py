"""Scenario 4: two beats started by mistake, then the lock holder killed with -9.

The second beat finds the Redis lock taken and exits; a supervisor (systemd,
Docker, `loa run`) keeps starting it again, which the harness does every
second. Throughout, the portal is polled once per interval (never twice: the
listing's hits on the site server are the witness), and after the holder's
``kill -9`` a standby beat takes over within the lock's lifetime (30 s; the
short version fast-forwards the dead holder's remaining lifetime to a second).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import redis

from tasks.beat_lock import BEAT_LOCK_KEY
from tasks.runtime import redis_client_url
from tests.faults.harness import LoaProcess, Newsroom, wait_for
from tests.faults.report import ScenarioResult, record
from tests.faults.sizes import TWO_BEATS, TwoBeats, params

LOCK_TTL = 30.0  # BeatLock's default lifetime, which `loa beat` uses
RESTART_DELAY = 1.0


class PollClock:
    """When the portal's listing was fetched: one timestamp per poll."""

    def __init__(self, room: Newsroom):
        self.room = room
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        seen = self.room.listing_hits()
        while not self._stop.wait(0.05):
            now = self.room.listing_hits()
            self.times += [time.monotonic()] * (now - seen)
            seen = now

    def __enter__(self) -> PollClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def shortest_gap(self, start: float, end: float) -> float:
        """The shortest time between two polls between `start` and `end` (inf if < 2)."""
        times = sorted(t for t in self.times if start <= t <= end)
        return min((b - a for a, b in zip(times, times[1:], strict=False)), default=math.inf)


@contextmanager
def standby(room: Newsroom) -> Iterator[list[LoaProcess]]:
    """Keep a second `loa beat` running as a supervisor would: restart it whenever it exits."""
    started: list[LoaProcess] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            beat = room.start("beat", log_level="DEBUG")
            started.append(beat)
            while beat.alive() and not stop.is_set():
                time.sleep(0.1)
            stop.wait(RESTART_DELAY)

    thread = threading.Thread(target=loop, name="standby-beat", daemon=True)
    thread.start()
    try:
        yield started
    finally:
        stop.set()
        thread.join(timeout=10)


def _holder(client: redis.Redis) -> int | None:
    value = client.get(BEAT_LOCK_KEY)
    if value is None:
        return None
    text = value.decode() if isinstance(value, bytes) else str(value)
    return int(text.split(":")[0])


@pytest.mark.parametrize("size", params(TWO_BEATS))
def test_two_beats_then_the_holder_killed(
    newsroom_factory: Callable[..., Newsroom], size: TwoBeats
) -> None:
    room = newsroom_factory(
        emulator=None, chats=1, articles=1, source={"poll_interval": size.poll_interval}
    )
    client = redis.Redis.from_url(redis_client_url(room.redis_url))
    room.worker(concurrency=2, log_level="DEBUG")
    first = room.start("beat", log_level="DEBUG")
    wait_for(lambda: _holder(client) == first.pid, timeout=60, what="the first beat's lock")
    with PollClock(room) as clock, standby(room) as standbys:
        began = time.monotonic()
        time.sleep(size.together)
        refused = [b for b in standbys if not b.alive()]
        first.kill9()
        killed_at = time.monotonic()
        if size.expire_lock_after is not None:  # fast-forward the dead holder's lifetime
            client.pexpire(BEAT_LOCK_KEY, int(size.expire_lock_after * 1000))
        try:
            wait_for(
                lambda: _holder(client) in {b.pid for b in standbys if b.alive()},
                timeout=LOCK_TTL + 30,
                what="a standby beat holding the lock",
            )
        except AssertionError:
            pass
        took_over = time.monotonic() - killed_at
        wait_for(lambda: any(t > killed_at for t in clock.times), timeout=LOCK_TTL + 30,
                 what="a poll by the new beat")  # fmt: skip
        first_new_poll = min(t for t in clock.times if t > killed_at) - killed_at
        time.sleep(size.after_takeover)
        ended = time.monotonic()
        holders = {b.pid for b in standbys if b.alive()}
    client.close()
    gap = clock.shortest_gap(began, ended)
    refusals = sum(1 for b in refused if "another beat is running" in b.output())
    record(
        ScenarioResult(
            scenario=f"4 two beats, holder kill -9 (poll every {size.poll_interval} s)",
            articles=1,
            expected=1,
            delivered=room.delivered(),
            lost=room.tally().lost,
            duplicated=room.tally().duplicated,
            recovery_seconds=first_new_poll,
            note=f"{len(clock.times)} polls in {ended - began:.0f} s, {gap:.1f} s apart at "
            f"least; {refusals} second-beat starts refused; lock taken over "
            f"{took_over:.1f} s after the kill",
        )
    )
    assert refusals >= 1, [b.output()[-500:] for b in refused]
    assert len(holders) == 1, "exactly one standby beat runs after the takeover"
    assert took_over <= LOCK_TTL + RESTART_DELAY + 5
    assert gap >= size.poll_interval * 0.5, clock.times  # never two polls in one slot
    assert len(clock.times) <= (ended - began) / size.poll_interval + 2, clock.times
    assert room.tally().lost == 0
