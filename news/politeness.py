"""Per-host politeness shared by every worker process: a Redis gate.

Several workers polling one small provincial portal must not hammer it. For
each host the gate allows at most `max_concurrent` requests in flight and
leaves at least `min_delay` seconds between the starts of two requests, across
all processes, using Redis's own clock (one Lua script, so the check and the
booking are atomic). In-flight slots expire, so a worker killed mid-request
does not hold its slot forever. Without Redis (one-shot CLI commands) the
in-process :class:`LocalGate` applies the same rules to one process.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

import redis

from news.errors import FetchError

_ACQUIRE = """
local slots, next_key = KEYS[1], KEYS[2]
local max_concurrent, delay_ms, token, slot_ttl_ms =
  tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now - slot_ttl_ms)
if redis.call('ZCARD', slots) >= max_concurrent then
  return 25
end
local next_at = tonumber(redis.call('GET', next_key) or '0')
if now < next_at then
  return next_at - now
end
redis.call('ZADD', slots, now, token)
redis.call('PEXPIRE', slots, slot_ttl_ms)
redis.call('SET', next_key, now + delay_ms, 'PX', delay_ms + 1000)
return 0
"""


class HostGate(Protocol):
    """Admits requests to a host politely; `slot` is held while one request runs."""

    def slot(self, host: str) -> AbstractContextManager[None]: ...


class RedisGate:
    """The cross-process gate, stored in Redis under ``loa:host:<host>:*``."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        max_concurrent: int = 2,
        min_delay: float = 1.0,
        slot_ttl: float = 120.0,
        max_wait: float = 300.0,
    ):
        self.client = client
        self.max_concurrent = max_concurrent
        self.min_delay_ms = int(min_delay * 1000)
        self.slot_ttl_ms = int(slot_ttl * 1000)
        self.max_wait = max_wait
        self._script = client.register_script(_ACQUIRE)

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Wait for a turn at `host`, hold it during the block, then free it."""
        token = uuid.uuid4().hex
        slots, next_key = f"loa:host:{host}:slots", f"loa:host:{host}:next"
        deadline = time.monotonic() + self.max_wait
        while True:
            wait_ms = int(
                self._script(
                    keys=[slots, next_key],
                    args=[self.max_concurrent, self.min_delay_ms, token, self.slot_ttl_ms],
                )
            )
            if wait_ms == 0:
                break
            if time.monotonic() > deadline:
                # A FetchError, so the poll records it in the source's health
                # like any other failure to read the site.
                raise FetchError(f"no turn at {host} within {self.max_wait:g}s (host busy)")
            time.sleep(min(wait_ms, 1000) / 1000)
        try:
            yield
        finally:
            self.client.zrem(slots, token)


class RobotsCache(Protocol):
    """robots.txt texts by origin, shared by processes ("" means: none, allow all)."""

    def get(self, origin: str) -> str | None: ...

    def put(self, origin: str, text: str, ttl: float) -> None: ...


class RedisRobotsCache:
    """The shared robots.txt cache, in Redis under ``loa:robots:<origin>``."""

    def __init__(self, client: redis.Redis):
        self.client = client

    def get(self, origin: str) -> str | None:
        try:
            raw = self.client.get(f"loa:robots:{origin}")
        except redis.RedisError:
            return None  # Redis down: this process fetches robots.txt itself
        if raw is None or isinstance(raw, str):
            return raw
        return raw.decode("utf-8", errors="replace")

    def put(self, origin: str, text: str, ttl: float) -> None:
        try:
            self.client.set(f"loa:robots:{origin}", text.encode("utf-8"), px=int(ttl * 1000))
        except redis.RedisError:
            pass


class LocalGate:
    """The same rules for one process (threads), for commands run without Redis."""

    def __init__(self, *, max_concurrent: int = 2, min_delay: float = 1.0):
        self.min_delay = min_delay
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._sem: dict[str, threading.BoundedSemaphore] = {}
        self._max = max_concurrent

    @contextmanager
    def slot(self, host: str) -> Iterator[None]:
        with self._lock:
            sem = self._sem.setdefault(host, threading.BoundedSemaphore(self._max))
        with sem:
            while True:
                with self._lock:
                    now = time.monotonic()
                    next_at = self._next.get(host, 0.0)
                    if now >= next_at:
                        self._next[host] = now + self.min_delay
                        break
                time.sleep(next_at - now)
            yield
