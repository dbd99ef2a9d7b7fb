"""Every size and duration of the process fault scenarios, in one place.

Each scenario runs twice: ``short`` (inside ``make test``: a few chats, outages
of seconds) and ``long`` (``make faults``: the sizes the issue names: 300
chats, Redis down 30 s, the database 20 s …). Change a number here, not in a
test. :func:`params` turns a pair into pytest parameters with the right marks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class KillWorker:
    """Scenario 1: kill -9 of the worker's main process during a fan-out."""

    chats: int
    #: the limiter's messages/s: sets how long the fan-out lasts (chats / rate)
    per_second: int
    #: a row left in `sending` this long is retried once (publish.stuck_after_seconds)
    stuck_after: int
    #: seconds between reconciles (short: a ticker; long: beat's own schedule)
    reconcile_every: float
    recovery_timeout: float


@dataclass(frozen=True)
class RedisOutage:
    """Scenario 2: Redis stopped, then restarted empty."""

    chats: int
    articles: int
    per_second: int
    outage: float
    reconcile_every: float
    recovery_timeout: float


@dataclass(frozen=True)
class DatabaseOutage:
    """Scenario 3: the database unreachable for a while."""

    chats: int
    per_second: int
    outage: float
    #: longer than the outage plus the ledger's record retries, so a row whose
    #: send is being recorded is not handed to another worker meanwhile
    stuck_after: int
    reconcile_every: float
    recovery_timeout: float


@dataclass(frozen=True)
class TwoBeats:
    """Scenario 4: two beats at once, then the lock holder killed with -9."""

    poll_interval: int
    #: how long both beats run side by side before the kill
    together: float
    #: short: the lock's remaining lifetime is fast-forwarded to this (seconds)
    expire_lock_after: float | None
    after_takeover: float


@dataclass(frozen=True)
class StopRun:
    """Scenario 7: SIGTERM to `loa run` during a fan-out."""

    chats: int
    per_second: int
    stop_within: float
    recovery_timeout: float


KILL_WORKER = {
    "short": KillWorker(chats=24, per_second=8, stuck_after=2, reconcile_every=1.0,
                        recovery_timeout=60),
    "long": KillWorker(chats=300, per_second=30, stuck_after=20, reconcile_every=60.0,
                       recovery_timeout=240),
}  # fmt: skip
REDIS_OUTAGE = {
    "short": RedisOutage(chats=6, articles=2, per_second=3, outage=3.0, reconcile_every=1.0,
                         recovery_timeout=60),
    "long": RedisOutage(chats=50, articles=3, per_second=30, outage=30.0, reconcile_every=60.0,
                        recovery_timeout=240),
}  # fmt: skip
DATABASE_OUTAGE = {
    "short": DatabaseOutage(chats=12, per_second=6, outage=3.0, stuck_after=10,
                            reconcile_every=1.0, recovery_timeout=60),
    "long": DatabaseOutage(chats=100, per_second=10, outage=20.0, stuck_after=90,
                           reconcile_every=60.0, recovery_timeout=300),
}  # fmt: skip
TWO_BEATS = {
    "short": TwoBeats(poll_interval=5, together=4.0, expire_lock_after=1.0, after_takeover=4.0),
    "long": TwoBeats(poll_interval=10, together=60.0, expire_lock_after=None,
                     after_takeover=30.0),
}  # fmt: skip
STOP_RUN = {
    # more chats than two publish batches (100 each): some rows are still queued at the stop
    "short": StopRun(chats=240, per_second=60, stop_within=15.0, recovery_timeout=60),
    "long": StopRun(chats=300, per_second=30, stop_within=15.0, recovery_timeout=180),
}


def params(sizes: dict[str, Any]) -> list[Any]:
    """pytest parameters: ``short`` marked `faults`, ``long`` marked `faults` and `long`."""
    return [
        pytest.param(sizes["short"], id="short", marks=pytest.mark.faults),
        pytest.param(sizes["long"], id="long", marks=[pytest.mark.faults, pytest.mark.long]),
    ]
