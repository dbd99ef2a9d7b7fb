"""Publishing benchmark: latency, fan-out at Telegram's cap, and the pipeline's own ceiling.

Runs the real pipeline (ledger → Celery on Redis → `loa worker` processes →
python-telegram-bot → the Bot API emulator over HTTP) and prints a table:

1. latency from "article stored" to "message accepted by the emulator",
   p50/p95 over N articles sent one at a time, against a baseline measured in
   the same run: a bare python-telegram-bot `send_message` to the emulator;
2. fan-out of one article to `--chats` chats with the emulator enforcing
   30 messages/s: achieved rate as a fraction of the cap, lost and duplicated;
3. with Telegram's cap lifted: the emulator's bare ceiling (bare PTB clients,
   no Loa), the old one-task-per-message path, the batched fan-out path, and
   the batched path at a paid broadcast cap (`--paid-cap`, enforced by both
   the emulator and Loa's limiter).

Usage: .venv/bin/python bench/publish.py [--articles 200] [--chats 3000] [--workers 4]
       [--raised-only] [--old-chats 1000] [--paid-cap 1000] [--bare-processes 2]
Uses DATABASE_URL / REDIS_URL when set, else a SQLite file and the bundled Redis.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psutil  # noqa: E402
from celery import Celery  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.services import (  # noqa: E402
    Services,
    baseline_latency,
    bench_services,
    fanout_result,
    percentile,
    print_table,
    worker_settings,
)  # noqa: E402
from news import ledger  # noqa: E402
from news.db import write_session  # noqa: E402
from news.extract import ExtractedArticle  # noqa: E402
from news.models import Delivery, DeliveryState  # noqa: E402
from news.store import upsert_article  # noqa: E402
from tasks.actions import batches  # noqa: E402
from telegram_emulator import Emulator  # noqa: E402
from tests.workers import start_worker, stop_worker, wait_for  # noqa: E402

TOKEN = "424242:" + "C" * 35


def article(n: int) -> ExtractedArticle:
    url = f"http://bench.test/tin-tuc/bai-{n}.html"
    return ExtractedArticle(
        url=url, canonical_url=url, title=f"Bài số {n}: giá lúa tăng", category="Kinh tế",
        category_slug="kinh-te", published_at=None, date_inferred=False,
        summary="Giá lúa tại đồng bằng tăng mạnh trong tuần qua. " * 3, body="Nội dung.",
        image=f"http://bench.test/images/{n}.jpg", author="PV",
    )  # fmt: skip


def settled(factory) -> int:  # type: ignore[no-untyped-def]
    with factory() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Delivery).where(
                    Delivery.state.in_([DeliveryState.SENT, DeliveryState.FAILED])
                )
            ) or 0
        )  # fmt: skip


def all_settled(factory, count: int) -> bool:  # type: ignore[no-untyped-def]
    return settled(factory) >= count


def run(args: argparse.Namespace, services: Services) -> list[tuple[str, str]]:
    """Every measure of this benchmark, as (measure, result) rows."""
    work = services.work
    factory, emulator = services.factory, services.emulator
    rows: list[tuple[str, str]] = []
    # ---- 1. latency ------------------------------------------------------
    emulator.set_limits(global_per_second=1000)
    readers = [emulator.create_user(900_000 + n)["id"] for n in range(args.articles)]
    base = baseline_latency(emulator, readers, min(args.articles, 100), token=TOKEN)
    emulator.reset()
    env, app = worker_settings(services, TOKEN)
    worker = start_worker(env, work, concurrency=args.workers)
    readers = [emulator.create_user(800_000 + n)["id"] for n in range(args.articles)]
    stored_at: dict[int, float] = {}
    try:
        time.sleep(3)  # worker start-up is not part of the latency
        for n, reader in enumerate(readers):
            stored_at[reader] = time.monotonic()
            with write_session(factory) as session:
                result = upsert_article(session, article(n), source=None)
                (delivery_id,) = ledger.plan_deliveries(session, result.article_id, [str(reader)])
            app.send_task("loa.publish", args=(delivery_id,))
            time.sleep(0.05)
        wait_for(lambda: settled(factory) >= args.articles, timeout=300, what="latency run")
    finally:
        stop_worker(worker)
    latencies = [m.accepted_at - stored_at[m.chat_id] for m in emulator.sent()]
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    b50 = statistics.median(base)
    rows.append(
        (
            "stored → accepted p50",
            f"{p50 * 1000:.0f} ms ({p50 / b50:.1f}× bare send {b50 * 1000:.0f} ms)",
        )
    )
    rows.append(("stored → accepted p95", f"{p95 * 1000:.0f} ms (goal < 300 ms)"))

    # ---- 2. fan-out at Telegram's cap ------------------------------------------
    env_cap = dict(env, LOA_PUBLISH='{"global_per_second": 30}')
    rows.append(fanout(args, services, env_cap, app, cap=30, emulator_cap=30, batched=True))
    return rows


def run_raised(args: argparse.Namespace, services: Services) -> list[tuple[str, str]]:
    """The pipeline with Telegram's cap lifted: the emulator's bare ceiling, old path, new path."""
    rows: list[tuple[str, str]] = []
    env, app = worker_settings(services, TOKEN)
    for client, what in (("http", "bare HTTP (urllib3)"), ("ptb", "bare PTB send_message")):
        bare = bare_ceiling(
            services.emulator, args.chats, processes=args.bare_processes, client=client
        )
        rows.append((f"{what}, {args.bare_processes} processes, emulator cap off", bare))
    lifted = dict(env, LOA_PUBLISH=f'{{"global_per_second": {LIFTED}}}')
    if args.old_chats:
        rows.append(
            fanout(args, services, lifted, app, cap=LIFTED, emulator_cap=0, batched=False,
                   chats=args.old_chats)
        )  # fmt: skip
    rows.append(fanout(args, services, lifted, app, cap=LIFTED, emulator_cap=0, batched=True))
    paid = dict(env, LOA_PUBLISH=f'{{"global_per_second": {args.paid_cap}}}')
    rows.append(
        fanout(args, services, paid, app, cap=args.paid_cap, emulator_cap=args.paid_cap,
               batched=True)
    )  # fmt: skip
    return rows


_RUNS = itertools.count()
#: The limiter's global rate when measuring the pipeline itself: far above anything reached.
LIFTED = 100_000


def fanout(
    args: argparse.Namespace,
    services: Services,
    env: dict[str, str],
    app: Celery,
    *,
    cap: int,
    emulator_cap: int,
    batched: bool,
    chats: int | None = None,
) -> tuple[str, str]:
    """One article to `chats` channels through the workers; the table row that says how it went.

    `batched`: the fan-out path (``loa.publish_batch`` chunks, as dispatch_publish
    enqueues a large fan-out); else the one-task-per-message path it replaced.
    """
    factory, emulator = services.factory, services.emulator
    count = chats or args.chats
    emulator.reset()
    emulator.set_limits(global_per_second=emulator_cap)
    with write_session(factory) as session:
        session.query(Delivery).delete()
    run_no = next(_RUNS)
    base = -1009_000_000_000 - run_no * 10_000_000
    targets = [emulator.create_chat("channel", chat_id=base - n)["id"] for n in range(count)]
    app.control.purge()
    with write_session(factory) as session:
        result = upsert_article(session, article(10_000 + run_no), source=None)
        ids = ledger.plan_deliveries(session, result.article_id, [str(c) for c in targets])
    worker = start_worker(env, services.work, concurrency=args.workers)
    try:
        time.sleep(3)  # worker start-up is not part of the rate
        meter = CpuMeter(worker.pid, emulator)
        if batched:
            for chunk in batches(ids):
                app.send_task("loa.publish_batch", args=(chunk,))
        else:
            for delivery_id in ids:
                app.send_task("loa.publish", args=(delivery_id,))
        wait_for(partial(all_settled, factory, len(ids)), timeout=3600, what=f"fan-out {cap}/s")
        cpu = meter.per_message(len(ids))
    finally:
        stop_worker(worker)
    path = "batched" if batched else "one task per message (old)"
    emulator_text = f"emulator cap {emulator_cap}/s" if emulator_cap else "emulator cap off"
    limiter_text = "limiter lifted" if cap == LIFTED else f"limiter {cap}/s"
    key = f"fan-out {count} chats, {path}, {limiter_text}, {emulator_text}"
    return key, fanout_result(emulator, count, emulator_cap or cap) + f"; load {load()}; {cpu}"


class CpuMeter:
    """CPU seconds spent by each part while a fan-out runs, per message.

    Workers (main process and pool), the emulator's thread in this process,
    Redis and PostgreSQL (every process of theirs on the machine: other work
    on a shared machine shows up there too), and the machine's busy share.
    """

    def __init__(self, worker_pid: int, emulator: Emulator):
        self.worker = psutil.Process(worker_pid)
        self.emulator_thread = emulator._thread.native_id if emulator._thread else None
        self.started = time.monotonic()
        self.before = self.snapshot()

    def snapshot(self) -> dict[str, float]:
        parts: dict[str, float] = {}
        workers = [self.worker, *self.worker.children(recursive=True)]
        parts["workers"] = sum(_cpu(process) for process in workers)
        own = psutil.Process().threads()
        parts["emulator"] = sum(
            t.user_time + t.system_time for t in own if t.id == self.emulator_thread
        )
        for name in ("redis-server", "postgres"):
            parts[name] = sum(
                _cpu(process)
                for process in psutil.process_iter(["name"])
                if process.info["name"] == name
            )
        times = psutil.cpu_times()
        parts["busy"] = sum(times) - times.idle - getattr(times, "iowait", 0.0)
        return parts

    def per_message(self, count: int) -> str:
        after, elapsed = self.snapshot(), time.monotonic() - self.started
        used = {key: after[key] - self.before.get(key, 0.0) for key in after}
        cores = psutil.cpu_count() or 1
        shares = ", ".join(
            f"{key} {used[key] / count * 1000:.2f}"
            for key in ("workers", "emulator", "redis-server", "postgres")
        )
        return f"CPU ms/msg: {shares}; machine busy {used['busy'] / elapsed / cores:.0%}"


def _cpu(process: psutil.Process) -> float:
    """User + system CPU seconds of `process` (0 when it is gone)."""
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def bare_ceiling(emulator: Emulator, count: int, *, processes: int, client: str) -> str:
    """What the emulator takes from bare clients, `processes` of them, 16 requests in flight each.

    `client` "http": raw urllib3 POSTs (the emulator's own ceiling on this
    machine, with the least a client can spend); "ptb": python-telegram-bot's
    `send_message` on Loa's transport (bot.transport), the most any PTB-based
    sender gets here. No database, no Celery, no limiter.
    """
    emulator.reset()
    emulator.set_limits(global_per_second=0)
    base = -1008_000_000_000 - next(_RUNS) * 10_000_000
    targets = [emulator.create_chat("channel", chat_id=base - n)["id"] for n in range(count)]
    shares = [targets[n::processes] for n in range(processes)]
    code = BARE_CLIENTS[client].format(token=TOKEN, base_url=emulator.base_url)
    clients = [
        subprocess.Popen([sys.executable, "-c", code, json.dumps(share)], cwd=ROOT)
        for share in shares
    ]
    for process in clients:
        process.wait(timeout=600)
    sent = emulator.sent()
    times = sorted(m.accepted_at for m in sent)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return f"{rate:.1f} msg/s; {len(sent)} of {count} sent; load {load()}"


ROOT = Path(__file__).resolve().parent.parent
BARE_CLIENTS = {
    "ptb": """
import asyncio, json, sys
sys.path.insert(0, ".")
from telegram import Bot
from bot.transport import Urllib3Request

async def main():
    chats = json.loads(sys.argv[1])
    gate = asyncio.Semaphore(16)
    async with Bot("{token}", base_url="{base_url}", request=Urllib3Request()) as bot:
        async def one(chat):
            async with gate:
                await bot.send_message(chat, f"<b>bare</b> {{chat}}", parse_mode="HTML")
        await asyncio.gather(*(one(chat) for chat in chats))

asyncio.run(main())
""",
    "http": """
import json, sys
from concurrent.futures import ThreadPoolExecutor
import urllib3

pool = urllib3.PoolManager(maxsize=16)
def one(chat):
    body = {{"chat_id": chat, "text": f"<b>bare</b> {{chat}}", "parse_mode": "HTML"}}
    answer = pool.request("POST", "{base_url}{token}/sendMessage", json=body)
    assert answer.status == 200, answer.data
with ThreadPoolExecutor(16) as threads:
    list(threads.map(one, json.loads(sys.argv[1])))
""",
}


def load() -> str:
    """The 1-minute load average: the machine is shared, numbers need it beside them."""
    return f"{os.getloadavg()[0]:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=4, help="worker pool processes")
    parser.add_argument("--paid-cap", type=int, default=1000, help="a paid broadcast limit")
    parser.add_argument(
        "--old-chats", type=int, default=1000, help="fan-out size on the old path (0: skip it)"
    )
    parser.add_argument("--bare-processes", type=int, default=2, help="bare PTB client processes")
    parser.add_argument(
        "--raised-only", action="store_true", help="only the measures with the cap raised"
    )
    args = parser.parse_args()
    # A SIGTERM (`timeout`, Ctrl-C in a supervisor) unwinds like an error does:
    # the workers are stopped and the private database dropped, not left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with bench_services() as services:
        rows = [] if args.raised_only else run(args, services)
        rows += run_raised(args, services)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
