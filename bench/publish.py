"""Publishing benchmark: latency, fan-out at Telegram's cap, and the pipeline's own ceiling.

Runs the real pipeline (ledger → Celery on Redis → `loa worker` processes →
python-telegram-bot → the Bot API emulator over HTTP) and prints a table:

1. latency from "article stored" to "message accepted by the emulator",
   p50/p95 over N articles sent one at a time, against a baseline measured in
   the same run: a bare python-telegram-bot `send_message` to the emulator;
2. fan-out of one article to `--chats` chats with the emulator enforcing
   30 messages/s: achieved rate as a fraction of the cap, lost and duplicated;
3. the same fan-out with the cap raised to 1,000/s: the pipeline's ceiling here.

Usage: .venv/bin/python bench/publish.py [--articles 200] [--chats 3000] [--workers 4]
Uses DATABASE_URL / REDIS_URL when set, else a SQLite file and the bundled Redis.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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

    # ---- 2 and 3. fan-out at the cap, then at 1000/s ------------------------
    for cap in (30, 1000):
        emulator.reset()
        emulator.set_limits(global_per_second=cap)
        with write_session(factory) as session:
            session.query(Delivery).delete()
        chats = [
            emulator.create_chat("channel", chat_id=-1009_000_000_000 - n - cap * 100_000)["id"]
            for n in range(args.chats)
        ]
        env_cap = dict(env, LOA_PUBLISH=f'{{"global_per_second": {cap}}}')
        app.control.purge()
        with write_session(factory) as session:
            result = upsert_article(session, article(10_000 + cap), source=None)
            ids = ledger.plan_deliveries(session, result.article_id, [str(c) for c in chats])
        worker = start_worker(env_cap, work, concurrency=args.workers)
        try:
            time.sleep(3)
            for delivery_id in ids:
                app.send_task("loa.publish", args=(delivery_id,))
            wait_for(partial(all_settled, factory, len(ids)), timeout=3600, what=f"fan-out {cap}/s")
        finally:
            stop_worker(worker)
        result_text = fanout_result(emulator, len(chats), cap)
        rows.append((f"fan-out {args.chats} chats, cap {cap}/s", result_text))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--chats", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=4, help="worker pool processes")
    args = parser.parse_args()

    with bench_services() as services:
        rows = run(args, services)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
