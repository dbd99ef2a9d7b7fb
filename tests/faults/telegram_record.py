"""What the Bot API emulator's record says about a run: the tally and the rate limits.

The fault scenarios assert from Telegram's side of the wire, not from Loa's
logs: which message reached which chat how often, and whether the accepted
messages ever came faster than Telegram's flood control allows (30 a second
per bot, 1 a second per private chat, 20 a minute per group or channel).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from telegram_emulator import Emulator


@dataclass(frozen=True)
class Tally:
    """Expected (chat, article) pairs against what the emulator accepted."""

    expected: int
    delivered: int
    lost: int
    duplicated: int


def tally(emulator: Emulator, expected: Iterable[tuple[int, str]]) -> Tally:
    """Count each expected (chat id, marker) pair in the messages the bot sent.

    A marker is a string only that article's text carries (its title).
    """
    wanted = set(expected)
    markers = {marker for _, marker in wanted}
    seen: Counter[tuple[int, str]] = Counter()
    for message in emulator.sent():
        text = message.text or message.caption or ""
        for marker in markers:
            if marker in text:
                seen[(message.chat_id, marker)] += 1
    delivered = sum(1 for pair in wanted if seen[pair])
    return Tally(
        expected=len(wanted),
        delivered=delivered,
        lost=len(wanted) - delivered,
        duplicated=sum(n - 1 for pair, n in seen.items() if pair in wanted and n > 1),
    )


@dataclass(frozen=True)
class LimitPeaks:
    """The most messages accepted in any window of each of Telegram's limits."""

    global_per_second: int
    private_per_second: int
    group_per_minute: int
    #: 429s the emulator's own flood control sent (not injected): Loa ran into a limit.
    unasked_429s: int

    def within(self, *, global_cap: int = 30, private: int = 1, group: int = 20) -> bool:
        """Whether every peak respects Telegram's published limits."""
        return (
            self.global_per_second <= global_cap
            and self.private_per_second <= private
            and self.group_per_minute <= group
        )


def _peak(times: list[float], span: float) -> int:
    """The largest number of stamps in any half-open window (t - span, t]."""
    times = sorted(times)
    best, start = 0, 0
    for end, stamp in enumerate(times):
        while times[start] <= stamp - span:
            start += 1
        best = max(best, end - start + 1)
    return best


def limit_peaks(emulator: Emulator) -> LimitPeaks:
    """Measure the accepted bot messages against each limit, from the emulator's clock."""
    sent = emulator.sent()
    by_chat: dict[int, list[float]] = defaultdict(list)
    for message in sent:
        by_chat[message.chat_id].append(message.accepted_at)
    private = [times for chat, times in by_chat.items() if chat > 0]
    groups = [times for chat, times in by_chat.items() if chat < 0]
    unasked = [
        c
        for c in emulator.calls()
        if c["status"] == 429 and c.get("fault") is None and c["method"].startswith("send")
    ]
    return LimitPeaks(
        global_per_second=_peak([m.accepted_at for m in sent], 1.0),
        private_per_second=max((_peak(t, 1.0) for t in private), default=0),
        group_per_minute=max((_peak(t, 60.0) for t in groups), default=0),
        unasked_429s=len(unasked),
    )
