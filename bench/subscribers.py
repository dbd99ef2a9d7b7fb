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
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from bench.publish import TOKEN, all_settled, article  # noqa: E402
from config.loader import load_settings  # noqa: E402
from loa.embedded_redis import EmbeddedRedis  # noqa: E402
from news.announce import plan_announcements  # noqa: E402
from news.db import make_engine, make_session_factory, write_session  # noqa: E402
from news.migrate import upgrade  # noqa: E402
from news.models import Category, Subscriber, Subscription  # noqa: E402
from news.store import upsert_article  # noqa: E402
from tasks.app import create_celery_app  # noqa: E402
from telegram_emulator import Emulator  # noqa: E402
from tests.workers import start_worker, stop_worker, wait_for, worker_env  # noqa: E402

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4, help="worker pool processes")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    redis_server = None
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        redis_server = EmbeddedRedis(work)
        redis_server.start()
        redis_url = redis_server.url
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{work / 'bench.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    emulator = Emulator().start()
    rows: list[tuple[str, str]] = []
    try:
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
        env = worker_env(
            database_url, redis_url, work, TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=emulator.base_url,
        )  # fmt: skip
        app = create_celery_app(load_settings(None, environ=env))
        app.control.purge()
        worker = start_worker(env, work, concurrency=args.workers)
        try:
            time.sleep(3)  # worker start-up is not part of the rate
            for item in planned:
                app.send_task("loa.publish", args=(item.delivery_id,))
            wait_for(
                lambda: all_settled(factory, len(planned)), timeout=7200, what="reader fan-out"
            )
        finally:
            stop_worker(worker)
        sent = [m for m in emulator.sent() if m.chat_id >= FIRST_READER]
        per_reader = Counter(m.chat_id for m in sent)
        times = sorted(m.accepted_at for m in sent)
        rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
        lost = args.readers - len(per_reader)
        dupes = sum(n - 1 for n in per_reader.values())
        throttled = sum(1 for c in emulator.calls() if c["status"] == 429)
        rows.append(
            (
                f"fan-out to {args.readers} readers, cap {CAP}/s",
                f"{rate:.1f} msg/s = {rate / CAP:.2f}× cap (goal ≥ 0.95); "
                f"lost {lost}, dupes {dupes}, 429s {throttled}",
            )
        )
    finally:
        emulator.stop()
        engine.dispose()
        if redis_server is not None:
            redis_server.stop()
    width = max(len(k) for k, _ in rows)
    print(f"{'measure'.ljust(width)}  result")
    for key, value in rows:
        print(f"{key.ljust(width)}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
