"""One story, one post: what the dedupe costs when planning a fan-out.

Plans one article to N readers (`plan_announcements`, the path a poll uses)
twice in the same run, on the same database:

* baseline: the article is the only one of its story, so every reader gets a
  ledger row (the cost without any copy);
* copy: a second source's copy of a story whose first article already has a
  post in every reader's chat, so every reader gets a StoryCopy row instead.

Also times the reconciler's sweep for posts with copies to show
(`posts_to_edit`) once the N copies exist. Prints the ratio copy / baseline.

Usage: .venv/bin/python bench/story_copies.py [--readers 10000]
Uses DATABASE_URL when set, else a SQLite file in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from news.announce import plan_announcements  # noqa: E402
from news.db import make_engine, make_session_factory, write_session  # noqa: E402
from news.migrate import upgrade  # noqa: E402
from news.models import (  # noqa: E402
    Article,
    Category,
    Delivery,
    DeliveryState,
    Story,
    StoryCopy,
    Subscriber,
    Subscription,
)
from news.store import get_or_create_source, upsert_article  # noqa: E402
from news.stories.copies import posts_to_edit  # noqa: E402
from tests.helpers import extracted  # noqa: E402

FIRST_READER = 5_000_000


def article(factory: sessionmaker[Session], n: int, source: str, story: int | None) -> int:
    """Article `n` from `source` in `story` (a new story when None)."""
    with write_session(factory) as session:
        src = get_or_create_source(session, name=source, kind="html", url=f"http://{source}.test/")
        item = extracted(n)
        url = f"http://{source}.test/{n}.html"
        stored = upsert_article(session, replace(item, url=url, canonical_url=url), source=src)
        row = session.get_one(Article, stored.article_id)
        if story is None:
            new = Story(first_article_id=row.id)
            session.add(new)
            session.flush()
            story = new.id
        row.story_id = story
        return row.id


def subscribe(factory: sessionmaker[Session], count: int) -> None:
    """`count` readers following the articles' category, inserted in bulk."""
    with write_session(factory) as session:
        category = session.scalars(select(Category)).one()
        session.execute(
            insert(Subscriber),
            [{"telegram_user_id": FIRST_READER + n, "language": "vi", "blocked": False}
             for n in range(count)],
        )  # fmt: skip
        ids = session.scalars(select(Subscriber.id)).all()
        session.execute(
            insert(Subscription),
            [{"subscriber_id": sid, "category_id": category.id, "key": f"cat:{category.id}"}
             for sid in ids],
        )  # fmt: skip


def timed(factory: sessionmaker[Session], article_id: int) -> tuple[float, int]:
    started = time.perf_counter()
    planned = plan_announcements(factory, [article_id], [])
    return time.perf_counter() - started, len(planned)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readers", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("DATABASE_URL") or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        upgrade(engine)
        factory = make_session_factory(engine)
        warm = article(factory, 1, "nguon-a", None)
        subscribe(factory, args.readers)
        timed(factory, warm)  # warms caches and the connection; not measured
        base_s, base_rows = timed(factory, article(factory, 4, "nguon-d", None))
        story = article(factory, 2, "nguon-b", None)
        first_s, _ = timed(factory, story)
        with write_session(factory) as session:  # the story's first copy went out everywhere
            session.query(Delivery).update({Delivery.state: DeliveryState.SENT})
        second = article(factory, 3, "nguon-c", None)
        with write_session(factory) as session:
            session.get_one(Article, second).story_id = session.get_one(Article, story).story_id
        copy_s, copy_rows = timed(factory, second)
        with factory() as session:
            copies = session.scalar(select(func.count()).select_from(StoryCopy))
            started = time.perf_counter()
            swept = len(posts_to_edit(session, limit=args.readers))
            sweep_s = time.perf_counter() - started
        engine.dispose()
    print(f"| measure ({args.readers} readers, {url.split(':')[0]}) | result |")
    print("|---|---|")
    print(f"| baseline: plan {base_rows} reader rows (story of one) | {base_s:.2f} s |")
    print(f"| a story's first copy (no earlier post): plan its rows | {first_s:.2f} s |")
    print(f"| a later copy: {copies} StoryCopy rows, {copy_rows} deliveries | {copy_s:.2f} s "
          f"({copy_s / base_s:.2f}× baseline) |")  # fmt: skip
    print(f"| reconciler sweep: {swept} posts with copies to show | {sweep_s * 1000:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
