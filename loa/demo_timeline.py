"""When each demo article appears, kept across restarts of `loa run`.

The demo portal publishes article ``k`` at a fixed moment. If that moment
were recomputed from the start time of every `loa run`, a restart would
show the same stories again with new dates (and, on a new port, new URLs),
and Loa would post them again. So the schedule is a list of *segments*,
saved beside the data: segment ``(first_k, resumed_at)`` publishes article
``k >= first_k`` at ``resumed_at + (k - first_k + 1) * interval``. A restart
appends a segment that begins with the first article not yet shown when the
portal was last alive: past articles keep their dates, nothing appears
while Loa is stopped, and the next story follows one interval after the
restart. The port is kept too, so the stored links keep working.
"""

from __future__ import annotations

import bisect
import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class DemoTimeline:
    """Publication moments of the demo's articles (epoch seconds)."""

    interval_seconds: float
    segments: list[tuple[int, float]] = field(default_factory=list)

    @classmethod
    def starting(cls, at: float, *, interval_seconds: float, initial: int) -> DemoTimeline:
        """A fresh schedule: `initial` articles already out at `at`, then one per interval."""
        return cls(interval_seconds, [(initial, at)])

    def appears_at(self, k: int) -> float:
        """Epoch seconds at which article ``k`` becomes visible."""
        firsts = [first for first, _ in self.segments]
        index = max(bisect.bisect_right(firsts, k) - 1, 0)
        first, resumed_at = self.segments[index]
        return resumed_at + (k - first + 1) * self.interval_seconds

    def visible_count(self, now: float) -> int:
        """How many articles (0 .. n-1) are published at `now`."""
        index = len(self.segments) - 1
        while index > 0 and self.segments[index][1] > now:
            index -= 1
        first, resumed_at = self.segments[index]
        count = max(0, first + math.floor((now - resumed_at) / self.interval_seconds))
        if index + 1 < len(self.segments):
            count = min(count, self.segments[index + 1][0])
        while count > 0 and self.appears_at(count - 1) > now:  # float edges
            count -= 1
        while self.appears_at(count) <= now and (
            index + 1 >= len(self.segments) or count < self.segments[index + 1][0]
        ):
            count += 1
        return count

    def resumed(self, *, last_alive: float, now: float) -> DemoTimeline:
        """The schedule after a stop: what was visible at `last_alive` stays, the rest waits."""
        shown = self.visible_count(min(last_alive, now))
        # Later segments that published nothing only scheduled the future: replace them.
        # The first one also dates the initial articles, so it always stays.
        kept = self.segments[:1] + [(first, at) for first, at in self.segments[1:] if first < shown]
        return DemoTimeline(self.interval_seconds, [*kept, (shown, now)])


@dataclass
class DemoState:
    """What `loa run` keeps about its demo portal: where it listens and its schedule."""

    path: Path
    timeline: DemoTimeline
    port: int = 0
    last_alive: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def load(cls, path: Path, *, now: float, interval_seconds: float, initial: int) -> DemoState:
        """The saved state resumed at `now`, or a fresh one (also when the file is unreadable)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            timeline = DemoTimeline(
                float(data["interval_seconds"]),
                [(int(first), float(at)) for first, at in data["segments"]],
            )
            if not timeline.segments:
                raise ValueError("no segments")
            port, last_alive = int(data["port"]), float(data["last_alive"])
        except FileNotFoundError:
            fresh = DemoTimeline.starting(now, interval_seconds=interval_seconds, initial=initial)
            return cls(path, fresh)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("demo portal state %s unreadable (%s); starting afresh", path, exc)
            fresh = DemoTimeline.starting(now, interval_seconds=interval_seconds, initial=initial)
            return cls(path, fresh)
        return cls(path, timeline.resumed(last_alive=last_alive, now=now), port, last_alive)

    def save(self) -> None:
        """Write atomically, so a crash mid-write leaves the previous state."""
        data = {
            "url": self.url,
            "port": self.port,
            "interval_seconds": self.timeline.interval_seconds,
            "segments": self.timeline.segments,
            "last_alive": self.last_alive,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(data), encoding="utf-8")
        os.replace(partial, self.path)
