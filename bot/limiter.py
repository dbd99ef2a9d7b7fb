"""Telegram's rate limits, shared by every worker process through Redis.

Telegram allows about 30 messages a second per bot, 1 a second per private
chat and 20 a minute per group or channel. PTB's AIORateLimiter only sees
its own process, so the publisher asks this limiter first. One Lua script
checks every bucket that applies (global, and the chat's) as sliding windows
of booked send times, and books the send only if all of them have room, so
concurrent workers never oversubscribe. A 429 from Telegram does not say its
scope: :meth:`TelegramLimiter.note_429` pauses the chat, and pauses all
sending when several chats are throttled within a short window.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from dataclasses import dataclass

import redis

from ops.metrics import record_limiter_wait

#: Windows are booked this much longer than Telegram's: a send booked at t and
#: the next at t + 1 s can reach Telegram less than 1 s apart when the first
#: request was slower on the wire.
SAFETY_MS = 60
#: The global window gets a smaller margin: every millisecond of margin there
#: costs throughput on a large fan-out (60 ms = 6 %). 15 ms let 6 of 10,000
#: sends meet a 429 when four workers and the emulator shared two cores; 35 ms
#: (3.4 % of the cap) keeps that to about one in a thousand.
GLOBAL_SAFETY_MS = 35

_BOOK = """
-- KEYS: the chat's pause key, the global pause key, then one sorted set per bucket;
-- ARGV: token, then (limit, window_ms) per bucket
local chat_pause = redis.call('PTTL', KEYS[1])
if chat_pause > 0 then return chat_pause end
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local pause = tonumber(redis.call('GET', KEYS[2]) or '0')
if now < pause then return pause - now end
local wait = 0
for i = 3, #KEYS do
  local limit = tonumber(ARGV[(i - 3) * 2 + 2])
  local window = tonumber(ARGV[(i - 3) * 2 + 3])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
  if redis.call('ZCARD', KEYS[i]) >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    local until_free = tonumber(oldest[2]) + window - now
    if until_free > wait then wait = until_free end
  end
end
if wait > 0 then return wait end
for i = 3, #KEYS do
  local window = tonumber(ARGV[(i - 3) * 2 + 3])
  redis.call('ZADD', KEYS[i], now, ARGV[1] .. ':' .. i)
  redis.call('PEXPIRE', KEYS[i], window + 1000)
end
return 0
"""


@dataclass(frozen=True)
class Limits:
    """Messages allowed per window; Telegram's published defaults."""

    global_per_second: int = 30
    private_per_second: int = 1
    group_per_minute: int = 20
    pause_after_429s: int = 3
    pause_window_seconds: float = 10.0


def is_private(chat_id: str | int) -> bool:
    """Private chats have positive ids; groups and channels negative ones (or @names)."""
    text = str(chat_id)
    return text.lstrip("-").isdigit() and not text.startswith("-")


class TelegramLimiter:
    """Cross-process limiter; `reserve` books a send or says how long to wait."""

    def __init__(
        self, client: redis.Redis, limits: Limits | None = None, *, prefix: str = "loa:tg"
    ):
        self.client = client
        self.limits = limits or Limits()
        self.prefix = prefix
        self._book = client.register_script(_BOOK)
        # A booking's name in the windows must be unique across threads, processes
        # (forked after this, so the pid goes in at each booking) and machines (the
        # nonce): cheaper per send than a uuid4 each.
        self._nonce = uuid.uuid4().hex[:12]
        self._seq = itertools.count()

    def reserve(self, chat_id: str | int) -> float:
        """Book one message to `chat_id` now (0.0) or return seconds to wait first."""
        second, minute = 1000 + SAFETY_MS, 60_000 + SAFETY_MS
        global_window = 1000 + GLOBAL_SAFETY_MS
        buckets = [(f"{self.prefix}:global", self.limits.global_per_second, global_window)]
        if is_private(chat_id):
            buckets.append(
                (f"{self.prefix}:chat:{chat_id}", self.limits.private_per_second, second)
            )
        else:
            buckets.append((f"{self.prefix}:chat:{chat_id}", self.limits.group_per_minute, minute))
        # One round trip per booking: the chat's pause (after a 429) is read by
        # the script too, not by a PTTL of its own before it.
        keys = [
            f"{self.prefix}:pause:{chat_id}",
            f"{self.prefix}:pause",
            *(k for k, _, _ in buckets),
        ]
        args: list[str | int] = [f"{self._nonce}.{os.getpid()}.{next(self._seq)}"]
        for _, limit, window in buckets:
            args += [limit, window]
        wait_ms = int(self._book(keys=keys, args=args))
        return wait_ms / 1000

    def wait_turn(self, chat_id: str | int, *, max_wait: float) -> float:
        """Block until a send to `chat_id` is booked; return the time waited.

        Gives up (returning a negative number) when the wait would exceed
        `max_wait`: the caller reschedules instead of holding a worker.
        """
        waited = 0.0
        while True:
            wait = self.reserve(chat_id)
            if wait <= 0:
                return waited
            if waited + wait > max_wait:
                return -wait
            time.sleep(wait)
            record_limiter_wait(wait)
            waited += wait

    def note_429(self, chat_id: str | int, retry_after: float) -> bool:
        """Pause `chat_id` for `retry_after`; pause everything if many chats hit 429.

        Returns True when the global pause was triggered.
        """
        ms = max(int(retry_after * 1000), 1000)
        self.client.set(f"{self.prefix}:pause:{chat_id}", "1", px=ms)
        recent = f"{self.prefix}:recent429"
        now = time.time()
        pipe = self.client.pipeline()
        pipe.zadd(recent, {str(chat_id): now})
        pipe.zremrangebyscore(recent, "-inf", now - self.limits.pause_window_seconds)
        pipe.zcard(recent)
        pipe.expire(recent, int(self.limits.pause_window_seconds) + 1)
        count = int(pipe.execute()[2])
        if count >= self.limits.pause_after_429s:
            self.client.set(f"{self.prefix}:pause", str(_redis_now_ms(self.client) + ms), px=ms)
            return True
        return False


def _redis_now_ms(client: redis.Redis) -> int:
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000
