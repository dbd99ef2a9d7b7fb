"""Scenario 6: sources that serve garbage, polled by a real `loa worker`.

Three sources on the garbage site (tests/faults/garbage_site.py), each
serving a rotation of hostile answers, one per poll:

* ``garbage-html``: random bytes as text/html, 50 MB of HTML, a gzip bomb
  (1 GB inflated), a redirect loop, and (full version) an endless 1-byte/s drip;
* ``garbage-xml``: an RSS feed with a billion-laughs DTD, then one whose
  external entities name a canary file outside the data directory and a URL;
* ``odd-html``: a bogus charset and 10,000 nested tags: odd, not hostile, and
  read without failing (the source stays healthy, nobody is alerted).

What must hold: every poll ends within the fetch deadline; the worker's
processes stay under MEMORY_BOUND_MB of RSS each (sampled with psutil all
along); nothing opens the canary (it is a FIFO: any reader would wake the
writer thread) and its content is nowhere in the database, the data
directory, the logs or Telegram's record; nothing fetched the entity's URL;
each failing source turns unhealthy once and the editors' chat gets exactly
one alert for it.

The short version shrinks the big answers (10 MB, a 200 MB bomb) and leaves
out the drip, which takes the whole 60 s deadline (the drip's deadline is
also covered in-process by tests/security/test_hostile_sources.py).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest
import redis
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from news.fetch import DEFAULT_MAX_SECONDS
from news.models import Base, Event, EventKind, Source, SourceState
from tasks.runtime import redis_client_url
from telegram_emulator import Emulator
from tests.faults.garbage_site import GarbageSite
from tests.faults.harness import LoaProcess, Newsroom
from tests.faults.report import ScenarioResult, record
from tests.workers import wait_for

pytestmark = pytest.mark.faults
#: Worker RSS bound per process (main and pool children). An idle worker is
#: about 120 MB; a poll may hold one capped 5 MB body and its parse tree.
MEMORY_BOUND_MB = 250
#: A poll ends within the fetch deadline, plus queueing and recording.
POLL_DEADLINE = DEFAULT_MAX_SECONDS + 10
EDITORS = -1009000000001


@dataclass(frozen=True)
class Garbage:
    name: str
    scale: float  # of the 50 MB page and the 1 GB bomb
    html: list[str]
    xml_polls: int


SHORT = Garbage("short", 0.2, ["binary", "huge", "gzip-bomb", "redirect-loop"], xml_polls=4)
FULL = Garbage(
    "full", 1.0, ["binary", "huge", "gzip-bomb", "redirect-loop", "drip", "binary"], xml_polls=6
)


class FifoCanary:
    """A named pipe outside the data directory: whoever opens it to read is caught.

    A writer thread blocks in open() until a reader appears; a reader (an XML
    parser resolving ``file://…``) wakes it, and it hands over the secret.
    """

    def __init__(self, path: Path):
        self.path = path
        self.secret = f"CANARY-{secrets.token_hex(12)}"
        self.readers = 0
        self._done = threading.Event()
        os.mkfifo(path)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            with open(self.path, "w", encoding="utf-8") as pipe:  # blocks until a reader
                if self._done.is_set():
                    return
                self.readers += 1
                pipe.write(self.secret)

    def close(self) -> None:
        self._done.set()
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # wakes the writer, uncounted
        self._thread.join(timeout=5)
        os.close(fd)


class RssSampler:
    """Peak RSS per process of a running `loa` (its main process and pool children)."""

    def __init__(self, process: LoaProcess):
        self.process = process
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                root = psutil.Process(self.process.pid)
                for proc in [root, *root.children(recursive=True)]:
                    self.peak_mb = max(self.peak_mb, proc.memory_info().rss / 2**20)
            except psutil.Error:
                continue


@pytest.fixture
def garbage_site(tmp_path: Path) -> Iterator[tuple[GarbageSite, FifoCanary]]:
    outside = tmp_path / "outside-the-data-dir"
    outside.mkdir()
    canary = FifoCanary(outside / "canary")
    site = GarbageSite(canary.path, scale=1.0).start()
    yield site, canary
    site.stop()
    canary.close()


def _state(factory: sessionmaker[Session], name: str) -> SourceState | None:
    with factory() as session:
        return session.scalar(
            select(SourceState)
            .join(Source, Source.id == SourceState.source_id)
            .where(Source.name == name)
        )


def _poll_once(room: Newsroom, name: str) -> float:
    """Enqueue one poll of `name` and wait until the database records it; its duration."""
    before = _state(room.factory, name)
    seen = before.last_polled_at if before else None
    client = redis.Redis.from_url(redis_client_url(room.redis_url))
    client.delete(f"loa:poll:slot:{name}")  # as if its interval had passed (one poll per slot)
    client.close()
    started = time.monotonic()
    room.send("loa.poll_source", name)

    def recorded() -> bool:
        state = _state(room.factory, name)
        return state is not None and state.last_polled_at != seen

    wait_for(recorded, timeout=POLL_DEADLINE + 30, what=f"a poll of {name}")
    return time.monotonic() - started


def _everything_written(room: Newsroom, emulator: Emulator) -> bytes:
    """The database's rows, every file under the data directory, the logs, Telegram's record."""
    parts: list[bytes] = []
    with room.factory() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                parts.append(repr(tuple(row)).encode())
    for path in room.data_dir.rglob("*"):
        if path.is_file():
            parts.append(path.read_bytes())
    for process in room.processes:
        parts.append(process.log.read_bytes())
    parts.append(json.dumps([repr(m) for m in emulator.messages()]).encode())
    return b"\n".join(parts)


def run_garbage(
    garbage: Garbage,
    newsroom_factory: Callable[..., Newsroom],
    emulator: Emulator,
    site: GarbageSite,
    canary: FifoCanary,
) -> None:
    site.huge_bytes = int(50 * 2**20 * garbage.scale)
    site.bomb_members = max(1, int(100 * garbage.scale))
    emulator.create_chat("supergroup", chat_id=EDITORS, title="Biên tập")
    common = {"respect_robots": False, "poll_interval": 3600, "recheck_window_hours": 0}
    sources = [
        {"name": "garbage-html", "url": site.rotation("html", garbage.html), **common},
        {
            "name": "garbage-xml",
            "kind": "rss",
            "url": site.rotation("xml", ["billion-laughs", "xxe"]),
            **common,
        },
        {"name": "odd-html", "url": site.rotation("odd", ["bogus-charset", "nested"]), **common},
    ]
    room = newsroom_factory(
        emulator=emulator,
        chats=0,
        articles=0,
        settings={"sources": sources, "editors_chat": str(EDITORS)},
    )
    worker = room.worker(concurrency=2)
    durations: dict[str, list[float]] = {}
    with RssSampler(worker) as rss:
        plan = [("garbage-html", len(garbage.html)), ("garbage-xml", garbage.xml_polls)]
        plan.append(("odd-html", 2))
        for name, polls in plan:
            durations[name] = [_poll_once(room, name) for _ in range(polls)]
        room.send("loa.rebuild_feeds")
        room.send("loa.send_alerts")

        def alerted() -> bool:
            texts = [m.text or "" for m in emulator.messages(EDITORS)]
            return sum("garbage-" in t for t in texts) >= 2

        wait_for(alerted, timeout=60, what="the editors' alerts")
        room.send("loa.send_alerts")  # a second round must not alert again
        time.sleep(3)
    alerts = [m.text or "" for m in emulator.messages(EDITORS)]
    with room.factory() as session:
        events = list(
            session.scalars(select(Event).where(Event.kind == EventKind.SOURCE_UNHEALTHY))
        )
    states = {name: _state(room.factory, name) for name, _ in plan}
    everything = _everything_written(room, emulator)
    slowest = max(d for each in durations.values() for d in each)
    per_source = {name: sum(name in text for text in alerts) for name, _ in plan}
    kinds = len(set(garbage.html)) + 4  # and billion laughs, XXE, bogus charset, nesting
    record(
        ScenarioResult(
            scenario=f"6. garbage sources, {kinds} hostile kinds ({garbage.name})",
            articles=0,
            expected=2,  # one alert per failing source
            delivered=sum(1 for name in ("garbage-html", "garbage-xml") if per_source[name]),
            lost=sum(1 for name in ("garbage-html", "garbage-xml") if not per_source[name]),
            duplicated=sum(max(n - 1, 0) for n in per_source.values()) + per_source["odd-html"],
            recovery_seconds=None,
            note=(
                f"slowest poll {slowest:.1f}s (deadline {POLL_DEADLINE:.0f}s); worker RSS peak "
                f"{rss.peak_mb:.0f} MB (bound {MEMORY_BOUND_MB}); canary opened "
                f"{canary.readers}x; entity URL fetched {site.hits['/xxe-probe']}x"
            ),
        )
    )
    assert slowest <= POLL_DEADLINE, durations
    assert rss.peak_mb <= MEMORY_BOUND_MB, rss.peak_mb
    assert canary.readers == 0
    assert canary.secret.encode() not in everything
    assert site.hits["/xxe-probe"] == 0
    assert worker.alive()  # garbage never took the worker down
    for name in ("garbage-html", "garbage-xml"):
        state = states[name]
        assert state is not None and not state.healthy, (name, state)
    odd = states["odd-html"]
    assert odd is not None, "odd-html was never polled"
    assert odd.healthy and odd.consecutive_failures == 0, odd.last_error
    assert sorted(e.message.split()[1] for e in events) == ["garbage-html", "garbage-xml"]
    assert per_source == {"garbage-html": 1, "garbage-xml": 1, "odd-html": 0}, alerts


def test_garbage_sources_short(
    newsroom_factory: Callable[..., Newsroom],
    telegram_emulator: Emulator,
    garbage_site: tuple[GarbageSite, FifoCanary],
) -> None:
    run_garbage(SHORT, newsroom_factory, telegram_emulator, *garbage_site)


@pytest.mark.long
def test_garbage_sources_full(
    newsroom_factory: Callable[..., Newsroom],
    telegram_emulator: Emulator,
    garbage_site: tuple[GarbageSite, FifoCanary],
) -> None:
    run_garbage(FULL, newsroom_factory, telegram_emulator, *garbage_site)
