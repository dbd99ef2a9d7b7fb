"""Beat schedules that spread many sources over their interval.

Why: Celery's interval schedule makes an entry due one interval after beat
started, and then one interval after each run. Every source therefore falls
due in the same second: with 1,000 sources polled every minute, beat sent
1,000 tasks at once, the last of them started many seconds late, and the
workers idled for the rest of the minute.

:class:`PhasedInterval` gives each entry a fixed phase instead: the entry
keyed ``key`` is due at ``k * interval + phase(key, interval)`` for every
whole ``k`` (Unix time), the phase a stable hash of the key. Sources are
spread evenly, every beat (a restarted one, or the one that takes over the
lock) keeps the same times, and anyone can tell when a poll was due
(:func:`poll_due_at`): the poll lag is the time from there to the poll's start.
"""

from __future__ import annotations

import hashlib
import math
from datetime import datetime, timedelta
from typing import Any

from celery.beat import PersistentScheduler
from celery.schedules import schedstate, schedule


def phase(key: str, interval: float) -> float:
    """Seconds into each interval at which `key` is due: stable, spread evenly by hashing."""
    digest = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
    return (digest % max(int(interval * 1000), 1)) / 1000


def poll_due_at(key: str, interval: float, now: float) -> float:
    """The latest time (Unix seconds, at most `now`) at which the entry `key` was due."""
    offset = phase(key, interval)
    return math.floor((now - offset) / interval) * interval + offset


class PhasedInterval(schedule):  # type: ignore[misc]  # celery ships no type hints
    """Every `run_every`, at the phase of `key` (see the module docstring).

    A run missed while beat was down is made up once, at beat's next tick,
    not once per missed interval.
    """

    def __init__(self, run_every: timedelta, key: str, app: Any = None):
        super().__init__(run_every=run_every, app=app)
        self.key = key

    @property
    def seconds(self) -> float:
        return float(self.run_every.total_seconds())

    def is_due(self, last_run_at: datetime) -> schedstate:
        now = self.now().timestamp()
        due = poll_due_at(self.key, self.seconds, now)
        last = self.maybe_make_aware(last_run_at).timestamp()
        return schedstate(is_due=last < due, next=max(due + self.seconds - now, 0.0))

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        last = self.maybe_make_aware(last_run_at).timestamp()
        due = poll_due_at(self.key, self.seconds, last) + self.seconds
        return timedelta(seconds=max(due - self.now().timestamp(), 0.0))

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__class__, (self.run_every, self.key)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, PhasedInterval):
            return self.run_every == other.run_every and self.key == other.key
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.run_every, self.key))

    def __repr__(self) -> str:
        return f"<every {self.seconds:g} s at +{phase(self.key, self.seconds):.3f} s: {self.key}>"


class LoaScheduler(PersistentScheduler):  # type: ignore[misc]  # celery ships no type hints
    """Celery's persistent scheduler without its per-tick comparison of every entry.

    On every tick (one per due entry) Celery compares the whole schedule with
    a copy of itself, entry by entry, to notice entries changed at run time.
    Loa's schedule is fixed when beat starts; with 1,000 sources (2,000
    entries, 1,000 ticks a minute) that comparison was half of beat's CPU.
    The names are still compared, so an added or removed entry is noticed.
    """

    def schedules_equal(self, old_schedules: Any, new_schedules: Any) -> bool:
        if old_schedules is None or new_schedules is None:
            return old_schedules is new_schedules
        return bool(old_schedules.keys() == new_schedules.keys())
