"""The fault suite's harness: a newsroom of real Loa processes, and its bookkeeping.

A scenario builds a :class:`Newsroom` (a config file, a data directory, a
portal on the test site server, channels in the Bot API emulator or the
dry-run outbox), starts real ``loa worker`` / ``loa beat`` / ``loa serve`` /
``loa bot`` / ``loa run`` processes with :meth:`Newsroom.start`, injects its
fault, and counts with :meth:`Newsroom.tally`, from what Telegram (the
emulator's record) or the outbox actually holds, against the pairs that should
have been delivered: every portal article x every channel. The database's own
view (ledger states, ``possible_duplicate`` flags) comes from
:meth:`Newsroom.ledger`.

Fault tools that need no Loa knowledge live here too: :class:`PrivateRedis`
(a redis-server of the scenario's own, to stop and restart empty),
:class:`TcpProxy` (a loopback proxy to cut PostgreSQL off) and
:func:`sqlite_locked` (an exclusive lock held on the SQLite file).

Fixtures: ``newsroom_factory`` builds newsrooms on the suite's database and a
Redis that is the scenario's alone (:func:`scenario_redis`), so a scenario's
Celery queue never meets another test's worker, even on a shared ``REDIS_URL``.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import select as io_select
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psutil
import pytest
import redis
from celery import Celery
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from loa.embedded_redis import EmbeddedRedis, redis_server_binary
from news.db import make_engine, make_session_factory
from news.models import Delivery, DeliveryState, Event, EventKind, Source, SourceState
from tasks.app import create_celery_app
from tasks.runtime import redis_client_url
from telegram_emulator import Emulator
from tests.faults.report import ScenarioResult
from tests.sites.server import SiteServer
from tests.sites.slug_portal import HOST, SlugArticle, SlugPortal
from tests.workers import wait_for

__all__ = [
    "ARTICLE_ID",
    "TOKEN",
    "LedgerView",
    "LoaProcess",
    "Newsroom",
    "PrivateRedis",
    "Tally",
    "TcpProxy",
    "kill_all",
    "newsroom_factory",
    "scenario_redis",
    "sqlite_locked",
    "wait_for",
]

#: A fake token the emulator accepts (never a real one: tests talk to loopback only).
TOKEN = "987654:" + "F" * 35
#: First channel id; channel n is ``CHANNEL_BASE - n`` (numeric: no getChat needed).
CHANNEL_BASE = -1001000000000
#: The CMS id in a portal article's URL (``…/<slug>-<id>.html``).
ARTICLE_ID = re.compile(r"-(\d+)\.html")
FIRST_ARTICLE = 1001
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl


@dataclass(frozen=True)
class Tally:
    """What reached Telegram (or the outbox) per (article, chat), against what should have."""

    articles: int
    expected: int
    delivered: int
    lost: int
    duplicated: int
    #: (cms article id, chat) -> copies, for pairs seen more than once
    duplicates: dict[tuple[int, str], int] = field(default_factory=dict)

    def row(self, scenario: str, recovery: float | None, note: str) -> ScenarioResult:
        """This tally as the scenario's row of the fault table."""
        return ScenarioResult(
            scenario=scenario,
            articles=self.articles,
            expected=self.expected,
            delivered=self.delivered,
            lost=self.lost,
            duplicated=self.duplicated,
            recovery_seconds=recovery,
            note=note,
        )

    def __str__(self) -> str:
        return (
            f"{self.articles} articles, {self.expected} expected, {self.delivered} delivered, "
            f"{self.lost} lost, {self.duplicated} duplicated"
        )


@dataclass(frozen=True)
class LedgerView:
    """The database's side: rows per state, rows flagged possible_duplicate, events."""

    states: dict[str, int]
    possible_duplicates: int
    duplicate_events: int

    @property
    def total(self) -> int:
        return sum(self.states.values())

    @property
    def settled(self) -> int:
        return self.states.get("sent", 0) + self.states.get("failed", 0)


class LoaProcess:
    """One `loa …` subprocess in its own session, with its log file."""

    def __init__(self, role: str, popen: subprocess.Popen[bytes], log: Path):
        self.role = role
        self.popen = popen
        self.log = log
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def children(self) -> list[psutil.Process]:
        """Its descendants now (a worker's pool processes, `loa run`'s children)."""
        try:
            return psutil.Process(self.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def signal(self, signum: int) -> None:
        """Send `signum` to the main process only (not its group)."""
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill9(self) -> list[psutil.Process]:
        """``kill -9`` of the main process alone; returns the children it leaves behind."""
        orphans = self.children()
        self.signal(signal.SIGKILL)
        self.popen.wait(timeout=10)
        return orphans

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self, *, timeout: float = 30) -> int | None:
        """SIGTERM the session, then SIGKILL what is left after `timeout`; the exit code."""
        if self.alive():
            self._killpg(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        self._killpg(signal.SIGKILL)  # orphaned pool processes included
        try:
            return self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            return None

    def _killpg(self, signum: int) -> None:
        try:
            os.killpg(self.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def output(self) -> str:
        """What it printed (stdout and stderr together)."""
        return self.log.read_text(encoding="utf-8", errors="replace")


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when the test process dies (Linux).

    A test run that is killed (a timeout, Ctrl-C twice) runs no teardown; without
    this its workers would live on and take the next run's tasks from the broker.
    """
    _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL)  # looked up before the fork: no dlopen here


def kill_all(processes: list[psutil.Process]) -> None:
    """SIGKILL processes (say, the orphans of a killed worker) and reap them."""
    for proc in processes:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(processes, timeout=5)


class Newsroom:
    """A configured Loa installation under test: one portal, N channels, real processes.

    `emulator=None` is the dry-run mode (no token: posts go to the outbox).
    `publish`, `source` and `settings` are merged into the generated config
    file (``publish.stuck_after_seconds``, ``poll_interval`` …).
    """

    def __init__(
        self,
        root: Path,
        *,
        database_url: str,
        redis_url: str,
        site: SiteServer,
        emulator: Emulator | None,
        chats: int,
        articles: int,
        publish: dict[str, Any] | None = None,
        source: dict[str, Any] | None = None,
        settings: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        process_database_url: str | None = None,
    ):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir = root / "data"
        self.database_url = database_url
        #: what the Loa processes use (scenario 3: a proxy the test can cut); the
        #: newsroom's own counting always reads `database_url` directly
        self.process_database_url = process_database_url or database_url
        self.redis_url = redis_url
        self.site = site
        self.emulator = emulator
        stories = [
            SlugArticle(FIRST_ARTICLE + n, f"Bản tin số {n + 1} của cổng tin")
            for n in range(articles)
        ]
        self.portal = SlugPortal(site, stories)
        self.chats = [str(CHANNEL_BASE - n) for n in range(chats)]
        if emulator is not None:
            for chat in self.chats:
                emulator.create_chat("channel", chat_id=int(chat), title=f"Kênh {chat}")
        self.config: dict[str, Any] = {
            "sources": [
                {
                    "name": "portal",
                    "url": self.portal.listing_url,
                    "profile": "news-modern",
                    "poll_interval": 3600,
                    "recheck_window_hours": 0,
                    "respect_robots": False,
                    "announce_first_poll": articles,
                    **(source or {}),
                }
            ],
            "channels": [{"chat": chat} for chat in self.chats],
            "routes": [{"channel": chat} for chat in self.chats],
            "publish": {"burst_limit": max(articles, 1), **(publish or {})},
            "host_min_delay": 0,
            **(settings or {}),
        }
        self.config_path = root / "loa.yaml"
        self.config_path.write_text(json.dumps(self.config, ensure_ascii=False), "utf-8")
        self.env = self._environment(env or {})
        self.processes: list[LoaProcess] = []
        self._engine = make_engine(database_url)
        self.factory: sessionmaker[Session] = make_session_factory(self._engine)
        self._app: Celery | None = None

    def _environment(self, extra: dict[str, str]) -> dict[str, str]:
        drop = {"TELEGRAM_BOT_TOKEN", "LOA_CONFIG", "DATABASE_URL", "REDIS_URL"}
        env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("LOA_")}
        env.update(
            {
                "LOA_CONFIG": str(self.config_path),
                "LOA_DATA_DIR": str(self.data_dir),
                "DATABASE_URL": self.process_database_url,
                "REDIS_URL": self.redis_url,
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.emulator is not None:
            env["TELEGRAM_BOT_TOKEN"] = TOKEN
            env["TELEGRAM_API_BASE_URL"] = self.emulator.base_url
        env.update(extra)
        return env

    # ---------------------------------------------------------------- processes

    def start(
        self, role: str, *args: str, env: dict[str, str] | None = None, log_level: str = "INFO"
    ) -> LoaProcess:
        """Start ``loa <role> <args>`` (worker, beat, serve, bot, run) in its own session."""
        log = self.root / f"{role}-{len(self.processes)}.log"
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            popen = subprocess.Popen(
                [sys.executable, "-m", "loa", "--log-level", log_level, role, *args],
                cwd=self.root,
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        process = LoaProcess(role, popen, log)
        self.processes.append(process)
        return process

    def worker(self, concurrency: int = 2, *, log_level: str = "INFO") -> LoaProcess:
        """A `loa worker` with `concurrency` pool processes."""
        return self.start("worker", "--concurrency", str(concurrency), log_level=log_level)

    @property
    def app(self) -> Celery:
        """A Celery app on the newsroom's broker, to enqueue what beat would."""
        if self._app is None:
            settings = load_settings(self.config_path, environ=self.env)
            self._app = create_celery_app(settings)
        return self._app

    def send(self, task: str, *args: Any) -> None:
        """Enqueue a Loa task by name (``loa.reconcile``, ``loa.poll_source``…)."""
        self.app.send_task(task, args=args)

    def poll(self) -> None:
        """Enqueue one poll of the portal, as beat does at its start."""
        self.send("loa.poll_source", "portal")

    @contextmanager
    def reconciler(self, every: float) -> Iterator[None]:
        """Enqueue ``loa.reconcile`` every `every` seconds while the block runs.

        Stands in for beat's schedule (a reconcile a minute) in the short
        scenarios: the same task, the same queue, only more often.
        """
        stop = threading.Event()

        def tick() -> None:
            while not stop.wait(every):
                try:
                    self.send("loa.reconcile")
                except Exception:  # noqa: BLE001 - the broker may be down: that is the fault
                    pass

        thread = threading.Thread(target=tick, name="reconcile-ticker", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=5)

    def close(self) -> None:
        """Stop every process still running and release connections."""
        for process in reversed(self.processes):
            process.stop(timeout=15)
        if self._app is not None:
            self._app.close()
        self._engine.dispose()

    # ---------------------------------------------------------------- counting

    def expected_pairs(self) -> set[tuple[int, str]]:
        """Every portal article x every channel: what must arrive exactly once."""
        return {(a.id, chat) for a in self.portal.articles for chat in self.chats}

    def received(self) -> Counter[tuple[int, str]]:
        """Copies per (cms article id, chat) in the emulator's record or the outbox."""
        pairs: Counter[tuple[int, str]] = Counter()
        if self.emulator is not None:
            for message in self.emulator.sent():
                found = ARTICLE_ID.search(json.dumps(asdict(message), ensure_ascii=False))
                if found and HOST in json.dumps(asdict(message), ensure_ascii=False):
                    pairs[(int(found.group(1)), str(message.chat_id))] += 1
            return pairs
        outbox = self.data_dir / "outbox"
        for path in outbox.glob("delivery-*.json") if outbox.exists() else []:
            params = json.loads(path.read_text(encoding="utf-8"))["params"]
            found = ARTICLE_ID.search(json.dumps(params, ensure_ascii=False))
            if found:
                pairs[(int(found.group(1)), str(params["chat_id"]))] += 1
        return pairs

    def delivered(self) -> int:
        """Distinct (article, chat) pairs received so far."""
        return len(set(self.received()) & self.expected_pairs())

    def tally(self) -> Tally:
        """Expected, delivered, lost and duplicated, per (article, chat)."""
        expected = self.expected_pairs()
        got = self.received()
        duplicates = {pair: n for pair, n in got.items() if n > 1}
        return Tally(
            articles=len(self.portal.articles),
            expected=len(expected),
            delivered=len(set(got) & expected),
            lost=len(expected - set(got)),
            duplicated=sum(n - 1 for n in duplicates.values()),
            duplicates=duplicates,
        )

    def ledger(self) -> LedgerView:
        """Ledger rows by state, the possible_duplicate flags and their events."""
        with self.factory() as session:
            rows = session.execute(
                select(Delivery.state, func.count()).group_by(Delivery.state)
            ).all()
            flagged = session.scalar(
                select(func.count())
                .select_from(Delivery)
                .where(Delivery.possible_duplicate.is_(True))
            )
            events = session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.kind == EventKind.POSSIBLE_DUPLICATE)
            )
        return LedgerView(
            {DeliveryState(state).value: int(n) for state, n in rows},
            int(flagged or 0),
            int(events or 0),
        )

    def polls(self) -> int:
        """Completed polls of the portal, as the database counts them."""
        with self.factory() as session:
            found = session.scalar(
                select(SourceState.polls)
                .join(Source, Source.id == SourceState.source_id)
                .where(Source.name == "portal")
            )
        return int(found or 0)

    def listing_hits(self) -> int:
        """Requests the portal's home page has had (one per poll)."""
        return self.site.hits(f"http://{HOST}/")

    def wait_delivered(self, count: int, *, timeout: float) -> None:
        """Wait until `count` distinct (article, chat) pairs have arrived."""
        wait_for(lambda: self.delivered() >= count, timeout=timeout, what=f"{count} deliveries")


# -------------------------------------------------------------------- Redis


class PrivateRedis:
    """A redis-server of the scenario's own (persistence off): stop it, start it empty.

    Scenario 2 stops Redis; it must never stop the machine's shared one, so it
    always runs this: on a unix socket under the scenario's directory, as
    `loa run` does (the default), or with `tcp=True` on a loopback port of its
    own that stays the same across restarts, as a `REDIS_URL` deployment sees it.
    """

    def __init__(self, directory: Path, *, tcp: bool = False):
        self.server = EmbeddedRedis(directory)
        self.port: int | None = None
        if tcp:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = int(probe.getsockname()[1])
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            return self.server.url
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if self.port is None:
            self.server.start()
            return
        args = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--daemonize", "no"]  # fmt: skip
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
        )
        wait_for(self._answers, timeout=10, what="the private redis-server")

    def _answers(self) -> bool:
        client = self.client()
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """Stop it hard (SIGKILL): what it held is gone, as after a crash."""
        for process in (self.server.process, self.process):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        self.process = None
        self.server.stop()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(redis_client_url(self.url), socket_timeout=2)


@contextmanager
def scenario_redis(root: Path) -> Iterator[str]:
    """A broker the scenario has to itself: a private redis-server, or a free db on REDIS_URL.

    On a shared REDIS_URL the scenario leases a database number (1-15) with
    SET NX on db 0, so two test runs on one machine never share a Celery queue,
    and flushes it before and after.
    """
    shared = os.environ.get("REDIS_URL")
    if not shared:
        private = PrivateRedis(root)
        private.start()
        try:
            yield private.url
        finally:
            private.stop()
        return
    parsed = urlsplit(shared)
    admin = redis.Redis.from_url(redis_client_url(shared))
    lease = f"loa:faults:lease:{os.getpid()}:{time.monotonic_ns()}"
    try:
        for db in range(15, 0, -1):
            if db in _databases_in_use(admin):
                continue  # a stray process of an aborted run still talks to it
            if admin.set(f"loa:faults:db:{db}", lease, nx=True, ex=3600):
                break
        else:
            raise RuntimeError("no free Redis database to lease for a fault scenario")
        url = urlunsplit((parsed.scheme, parsed.netloc, f"/{db}", "", ""))
        client = redis.Redis.from_url(url)
        client.flushdb()
        try:
            yield url
        finally:
            client.flushdb()
            client.close()
            if admin.get(f"loa:faults:db:{db}") == lease.encode():
                admin.delete(f"loa:faults:db:{db}")
    finally:
        admin.close()


def _databases_in_use(admin: redis.Redis) -> set[int]:
    """Database numbers some client is connected to right now (CLIENT LIST)."""
    return {int(client["db"]) for client in admin.client_list()}


@pytest.fixture
def newsroom_factory(
    database_url: str,
    site_server: SiteServer,
    tmp_path: Path,
) -> Iterator[Callable[..., Newsroom]]:
    """Build newsrooms on the test database and a Redis of the scenario's own.

    ``newsroom_factory(emulator=…, chats=…, articles=…, redis_url=…)``; every
    process a newsroom started is stopped after the test.
    """
    built: list[Newsroom] = []
    with scenario_redis(tmp_path / "redis-root") as broker:

        def build(**kwargs: Any) -> Newsroom:
            kwargs.setdefault("redis_url", broker)
            kwargs.setdefault("database_url", database_url)
            room = Newsroom(tmp_path / f"room{len(built)}", site=site_server, **kwargs)
            built.append(room)
            return room

        try:
            yield build
        finally:
            for room in built:
                room.close()


# -------------------------------------------------------------------- database


class TcpProxy:
    """A loopback TCP proxy: Loa talks to the database through it, the test cuts it.

    :meth:`cut` refuses new connections and closes every open one (what a
    stopped PostgreSQL or a closed port looks like to a client); :meth:`restore`
    accepts again on the same port.
    """

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._thread: threading.Thread | None = None

    def start(self) -> TcpProxy:
        self._listener.listen(64)
        self._open.set()
        self._thread = threading.Thread(target=self._accept, name="tcp-proxy", daemon=True)
        self._thread.start()
        return self

    def url(self, database_url: str) -> str:
        """`database_url` pointed at the proxy instead of the server."""
        url = make_url(database_url).set(host="127.0.0.1", port=self.port)
        return url.render_as_string(hide_password=False)

    def cut(self) -> None:
        """Refuse new connections and reset the open ones."""
        self._open.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for pair in pairs:
            for sock in pair:
                _hard_close(sock)

    def restore(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._stop.set()
        self.cut()
        self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _accept(self) -> None:
        self._listener.settimeout(0.1)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self._open.is_set():
                _hard_close(client)  # RST: "connection refused" as far as psycopg can tell
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _hard_close(client)
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = io_select.select([a, b], [], [], 1.0)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        raise OSError("closed")
                    (b if sock is a else a).sendall(data)
        except (OSError, ValueError):
            pass
        finally:
            _hard_close(a)
            _hard_close(b)
            with self._lock:
                if (a, b) in self._pairs:
                    self._pairs.remove((a, b))


def _hard_close(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a dead peer would."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


@contextmanager
def sqlite_locked(database_url: str) -> Iterator[None]:
    """Hold an exclusive lock on the SQLite file while the block runs.

    SQLite has no server to stop or port to close: the nearest "database
    unreachable" is a file nobody else may write. In WAL mode readers still
    read; every writer waits (busy_timeout) and fails when that runs out.
    """
    path = make_url(database_url).database
    assert path, database_url
    db = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        db.execute("BEGIN EXCLUSIVE")
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()
