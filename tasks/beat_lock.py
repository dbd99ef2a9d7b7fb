"""Only one beat may run: a Redis lock held for as long as beat lives.

Two beats would poll every source twice and double the reconciler's work.
``loa beat`` takes this lock before starting the scheduler and renews it in a
background thread; a second beat finds it taken and exits with a clear error.
If renewal finds another beat holding it (stolen after a long stall), beat
stops itself; if it finds no holder at all (Redis restarted empty, or the key
expired while Redis was unreachable), it takes the lock again and carries on,
so a Redis restart never leaves the installation without a beat.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable

import redis

log = logging.getLogger(__name__)
BEAT_LOCK_KEY = "loa:beat:lock"
# Renew our lock; take it again if it is gone (Redis restarted empty, or the key
# expired during a long outage); 0 only when another beat holds it.
_RENEW = """
local holder = redis.call('get', KEYS[1])
if holder == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
if not holder then
  redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 2
end
return 0
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""


class BeatLock:
    """A renewable lock: acquire() once, then it keeps itself alive until release()."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        key: str = BEAT_LOCK_KEY,
        ttl_seconds: float = 30.0,
        on_lost: Callable[[], None] | None = None,
    ):
        self.client = client
        self.key = key
        self.ttl_ms = int(ttl_seconds * 1000)
        self.token = f"{os.getpid()}:{uuid.uuid4().hex}"
        self.on_lost = on_lost or (lambda: os._exit(3))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> bool:
        """Take the lock; False when another beat holds it."""
        if not self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return False
        self._thread = threading.Thread(target=self._renew_loop, name="beat-lock", daemon=True)
        self._thread.start()
        return True

    def holder(self) -> str | None:
        """Who holds the lock now (pid:uuid), for error messages."""
        value = self.client.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.ttl_ms / 3000):
            try:
                renewed = self.client.eval(_RENEW, 1, self.key, self.token, self.ttl_ms)
            except redis.RedisError as exc:
                log.warning("beat lock renewal failed: %s", exc)
                continue
            if not renewed:
                log.error("beat lock lost to another process; stopping this beat")
                self.on_lost()
                return
            if renewed == 2:
                log.warning("beat lock was gone (Redis restarted?); taken again")

    def release(self) -> None:
        """Stop renewing and give the lock up (only if still ours)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        try:
            self.client.eval(_RELEASE, 1, self.key, self.token)
        except redis.RedisError as exc:
            log.warning("could not release beat lock: %s", exc)
