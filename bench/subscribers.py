"""Fan-out to readers: one new article to N subscribers of its category, at Telegram's cap.

Runs the real path: readers subscribed in the database, `plan_announcements`
(the routing a poll uses) creating one ledger row per reader, Celery on Redis,
`loa worker` processes sending through python-telegram-bot to the Bot API
emulator, which enforces 30 messages/s overall and 1/s per private chat.
Prints the time to plan the rows, the achieved rate as a fraction of the cap,
and what was lost, duplicated or throttled (429).

Usage: .venv/bin/python bench/subscribers.py [--readers 10000] [--workers 4]
Uses DATABASE_URL / REDIS_URL when set, else a SQLite file and the bundled Redis.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bench.publish import TOKEN, all_settled, article  # noqa: E402
from bench.services import (  # noqa: E402
    Services,
    bench_services,
    fanout_result,
    print_table,
    worker_settings,
)  # noqa: E402
from news.announce import plan_announcements  # noqa: E402
from news.db import write_session  # noqa: E402
from news.models import Category, Subscriber, Subscription  # noqa: E402
from news.store import upsert_article  # noqa: E402
from tests.workers import start_worker, stop_worker, wait_for  # noqa: E402

CAP = 30
FIRST_READER = 5_000_000


def subscribe_readers(factory, count: int) -> None:  # type: ignore[no-untyped-def]
    """`count` readers following the article's category, inserted in bulk."""
    with write_session(factory) as session:
        upsert_article(session, article(0), source=None)  # creates the category
        category = session.scalars(select(Category)).one()
        session.execute(
            insert(Subscriber),
            [
                {"telegram_user_id": FIRST_READER + n, "language": "vi", "blocked": False}
                for n in range(count)
            ],
        )
        ids = session.scalars(select(Subscriber.id).order_by(Subscriber.id)).all()
        session.execute(
            insert(Subscription),
            [
                {"subscriber_id": sid, "category_id": category.id, "key": f"cat:{category.id}"}
                for sid in ids
            ],
        )


def run(args: argparse.Namespace, services: Services) -> list[tuple[str, str]]:
    """Every measure of this benchmark, as (measure, result) rows."""
    work = services.work
    factory, emulator = services.factory, services.emulator
    rows: list[tuple[str, str]] = []
    emulator.set_limits(global_per_second=CAP)
    for n in range(args.readers):
        emulator.create_user(FIRST_READER + n, f"R{n}")
    subscribe_readers(factory, args.readers)
    with write_session(factory) as session:
        article_id = upsert_article(session, article(1), source=None).article_id
    started = time.monotonic()
    planned = plan_announcements(factory, [article_id], [])
    plan_seconds = time.monotonic() - started
    rows.append(
        (
            f"plan {len(planned)} reader rows",
            f"{plan_seconds:.2f} s ({plan_seconds / max(len(planned), 1) * 1e6:.0f} µs a row)",
        )
    )
    env, app = worker_settings(services, TOKEN)
    worker = start_worker(env, work, concurrency=args.workers)
    try:
        time.sleep(3)  # worker start-up is not part of the rate
        for item in planned:
            app.send_task("loa.publish", args=(item.delivery_id,))
        wait_for(lambda: all_settled(factory, len(planned)), timeout=7200, what="reader fan-out")
    finally:
        stop_worker(worker)
    result = fanout_result(emulator, args.readers, CAP, first_chat=FIRST_READER)
    rows.append((f"fan-out to {args.readers} readers, cap {CAP}/s (goal ≥ 0.95×)", result))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4, help="worker pool processes")
    args = parser.parse_args()

    with bench_services() as services:
        rows = run(args, services)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
