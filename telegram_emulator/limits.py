"""Flood control: Telegram's message rate limits, enforced with real 429 replies.

Telegram publishes rough numbers only (about 30 messages/s per bot, 1/s per private chat,
20/min per group or channel); the emulator enforces them strictly with sliding windows so
a client that ignores ``retry_after`` is caught at once. Every limit is configurable and
``0`` switches that scope off. A 429 never says which scope tripped, as on Telegram.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from .errors import too_many_requests


@dataclass(frozen=True)
class Limits:
    """Rate-limit settings; ``0`` disables a scope, ``enabled=False`` disables all."""

    enabled: bool = True
    global_per_second: int = 30
    private_per_second: int = 1
    group_per_minute: int = 20
    count_edits: bool = False

    def updated(self, **changes: Any) -> Limits:
        """A copy with some fields changed; unknown names are a ValueError."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown limit settings: {sorted(unknown)}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RateLimiter:
    """Sliding-window counters per bot (global) and per (bot, chat)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._global: dict[int, deque[float]] = {}
        self._chat: dict[tuple[int, int], deque[float]] = {}

    def reset(self) -> None:
        """Forget every window (the settings stay)."""
        self._global.clear()
        self._chat.clear()

    def acquire(self, bot_id: int, chat_id: int, chat_type: str, now: float) -> None:
        """Count one message, or raise the 429 Telegram would send; caller holds the lock."""
        limits = self.limits
        if not limits.enabled:
            return
        checks: list[tuple[deque[float], int, float]] = []
        if limits.global_per_second > 0:
            checks.append((self._global.setdefault(bot_id, deque()), limits.global_per_second, 1))
        window = self._chat.setdefault((bot_id, chat_id), deque())
        if chat_type == "private" and limits.private_per_second > 0:
            checks.append((window, limits.private_per_second, 1.0))
        elif chat_type != "private" and limits.group_per_minute > 0:
            checks.append((window, limits.group_per_minute, 60.0))
        wait = 0.0
        for stamps, cap, span in checks:
            while stamps and stamps[0] <= now - span:
                stamps.popleft()
            if len(stamps) >= cap:
                wait = max(wait, stamps[len(stamps) - cap] + span - now)
        if wait > 0:
            raise too_many_requests(max(1, math.ceil(wait)))
        for stamps, _, _ in checks:
            stamps.append(now)
