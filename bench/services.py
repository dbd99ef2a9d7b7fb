"""What every pipeline benchmark runs against: Redis, a migrated database, the Bot API emulator.

REDIS_URL / DATABASE_URL are used when set (so a benchmark can run on
PostgreSQL, in a private database created for the run and dropped after),
else the bundled Redis and a SQLite file in a fresh directory.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from celery import Celery
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from config.loader import load_settings
from loa.embedded_redis import EmbeddedRedis
from news.db import make_engine, make_session_factory, normalize_url
from news.migrate import upgrade
from tasks.app import create_celery_app
from telegram_emulator import Emulator
from tests.workers import worker_env


@dataclass(frozen=True)
class Services:
    """A benchmark's working directory and the services it talks to."""

    work: Path
    redis_url: str
    database_url: str
    factory: sessionmaker[Session]
    emulator: Emulator


@contextmanager
def throwaway_database(database_url: str | None, work: Path) -> Iterator[str]:
    """A SQLite file in `work`, or a private database on the PostgreSQL server named."""
    if not database_url:
        yield f"sqlite:///{work / 'bench.db'}"
        return
    url = make_url(normalize_url(database_url))
    name = f"loa_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def bench_services() -> Iterator[Services]:
    """Start (or reuse) Redis, migrate a database, start the emulator; stop them after."""
    work = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    redis_server = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis_server = EmbeddedRedis(work)
        redis_server.start()
        redis_url = redis_server.url
    with throwaway_database(os.environ.get("DATABASE_URL"), work) as database_url:
        engine = make_engine(database_url)
        upgrade(engine)
        emulator = Emulator().start()
        try:
            yield Services(work, redis_url, database_url, make_session_factory(engine), emulator)
        finally:
            emulator.stop()
            engine.dispose()
            if redis_server is not None:
                redis_server.stop()


def worker_settings(services: Services, token: str) -> tuple[dict[str, str], Celery]:
    """The environment `loa worker` processes get, and a Celery app (queue purged) to feed them."""
    env = worker_env(
        services.database_url, services.redis_url, services.work,
        TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL=services.emulator.base_url,
    )  # fmt: skip
    app = create_celery_app(load_settings(None, environ=env))
    app.control.purge()
    return env, app


def fanout_result(
    emulator: Emulator, chats: int, cap: int, *, first_chat: int | None = None
) -> str:
    """Rate as a fraction of the cap, and what was lost, duplicated or throttled.

    `first_chat`: count only messages to chat ids from there up (readers).
    """
    sent = [m for m in emulator.sent() if first_chat is None or m.chat_id >= first_chat]
    per_chat = Counter(m.chat_id for m in sent)
    times = sorted(m.accepted_at for m in sent)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    lost = chats - len(per_chat)
    dupes = sum(n - 1 for n in per_chat.values())
    throttled = sum(1 for c in emulator.calls() if c["status"] == 429)
    return f"{rate:.1f} msg/s = {rate / cap:.2f}× cap; lost {lost}, dupes {dupes}, 429s {throttled}"


def percentile(values: list[float], q: float) -> float:
    """The `q` quantile (0..1) of `values`, nearest rank."""
    ordered = sorted(values)
    return ordered[min(int(q * len(ordered)), len(ordered) - 1)]


def baseline_latency(
    emulator: Emulator, chats: list[int], count: int, *, token: str
) -> list[float]:
    """A bare PTB send_message per message: what any bot pays, without Loa."""
    from telegram import Bot

    async def run() -> list[float]:
        samples = []
        async with Bot(token, base_url=emulator.base_url) as bot:
            for n in range(count):
                started = time.monotonic()
                await bot.send_message(
                    chats[n % len(chats)], f"<b>baseline {n}</b>", parse_mode="HTML"
                )
                samples.append(time.monotonic() - started)
                await asyncio.sleep(0.05)
        return samples

    return asyncio.run(run())


def print_table(rows: list[tuple[str, str]]) -> None:
    """The benchmark's result: one measure per line."""
    width = max(len(key) for key, _ in rows)
    print(f"{'measure'.ljust(width)}  result")
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
