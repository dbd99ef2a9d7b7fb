"""Clocks the emulator reads, injectable so tests can jump over 48 hours or a minute.

Two readings are needed: wall time (``date`` fields and the 48 h delete window) and a
monotonic time (rate-limit windows, fault durations, acceptance timestamps). Both move
together when a test calls ``advance``; real waiting (long polls, hangs) always uses real time.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol


class Clock(Protocol):
    """What the emulator needs from a clock."""

    def time(self) -> float:
        """Wall-clock seconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes back."""
        ...

    def advance(self, seconds: float) -> None:
        """Move both readings forward (tests use this to expire windows)."""
        ...


class SystemClock:
    """Real time plus an offset that ``advance`` grows; the default clock."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def time(self) -> float:
        return time.time() + self._offset

    def monotonic(self) -> float:
        return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("clocks only move forward")
        with self._lock:
            self._offset += seconds


class ManualClock:
    """A frozen clock that moves only when told: deterministic rate-limit tests."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._wall = start
        self._mono = 1000.0
        self._lock = threading.Lock()

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("clocks only move forward")
        with self._lock:
            self._wall += seconds
            self._mono += seconds
