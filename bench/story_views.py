"""Where people see stories, on a large table: 100,000 articles, a fifth of them copies.

Why: `loa status`, the status page, `/find` and every feed rebuild now read
story groups (news.stories.groups, feeds.stories); none of them may get slow
as the articles table grows. Each read is timed against a yardstick measured
in the same run beside it:

- `loa status`'s stories section (:func:`recent_groups`, groups of 2+ in 72 h)
  against reading a column of each of the window's articles through the same
  index (the least the section can cost);
- `/find`'s group lookup for 8 articles against `SELECT 1`;
- a feed's cross-references (:func:`feeds.stories.story_links` for the 50
  newest articles) against rendering that feed (`render_spec` of all.json,
  the cross-references included: the ratio is their share of a rebuild).

The table: 20 sources, `--articles` articles over 90 days; every tenth
article starts a story that the next two join (copies from other sources), the
others are stories of one, as the grouping leaves them. SQLite in a temp dir,
or a private PostgreSQL database (`--database-url` / `DATABASE_URL`, loopback
only, dropped at the end). Prints medians of `--repeat` runs; asserts nothing.

Usage: .venv/bin/python bench/story_views.py [--articles 100000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.loader import load_settings  # noqa: E402
from feeds.build import Query  # noqa: E402
from feeds.cache import feed_context, render_spec  # noqa: E402
from feeds.specs import FeedSpec  # noqa: E402
from feeds.stories import story_links  # noqa: E402
from news.db import make_engine, make_session_factory, normalize_url  # noqa: E402
from news.migrate import upgrade  # noqa: E402
from news.models import Article, Source, Story  # noqa: E402
from news.stories.groups import groups_of_articles, recent_groups  # noqa: E402


def story_of(g: int) -> int:
    """Articles 10k+1 and 10k+2 join the story of article 10k."""
    return g - g % 10 if g >= 10 and g % 10 in (1, 2) else g


def fill(engine: Engine, articles: int) -> None:
    """Sources, stories and articles (Core inserts, executemany, one transaction)."""
    now = datetime.now(UTC)
    span = timedelta(days=90)
    seen = [now - span * (articles - a) / articles for a in range(1, articles + 1)]
    sources = [{"id": g, "name": f"source-{g}", "kind": "html", "url": f"http://127.0.0.1/s{g}/",
                "created_at": now - span} for g in range(1, 21)]  # fmt: skip
    stories = [
        {"id": g, "first_article_id": g, "created_at": seen[g - 1], "updated_at": seen[g - 1]}
        for g in range(1, articles + 1)
    ]
    rows = [
        {
            "id": a,
            "source_id": 1 + a % 20,
            "identity": f"tag:a{a}",
            "identity_key": f"a{a}",
            "search_text": "",
            "url": f"http://127.0.0.1/a/{a}",
            "canonical_url": f"http://127.0.0.1/a/{a}",
            "title": f"Bài số {a}",
            "summary": "",
            "body": "",
            "content_hash": f"h{a}",
            "version": 1,
            "first_seen_at": seen[a - 1],
            "updated_at": seen[a - 1],
            "status": "active",
            "date_inferred": False,
            "pushed": False,
            "story_id": story_of(a),
            "story_pinned": False,
        }  # fmt: skip
        for a in range(1, articles + 1)
    ]
    with engine.begin() as conn:
        conn.execute(insert(Source.__table__), sources)
        conn.execute(insert(Story.__table__), stories)
        conn.execute(insert(Article.__table__), rows)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def run(url: str, args: argparse.Namespace) -> None:
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    fill(engine, args.articles)
    print(f"{engine.dialect.name}: filled {args.articles:,} articles "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    factory = make_session_factory(engine)
    settings = load_settings(None, environ={})
    ctx = feed_context(settings)
    spec = FeedSpec("all", "all", "json", "Loa")
    since = datetime.now(UTC) - timedelta(hours=72)
    with factory() as session:
        newest = list(session.scalars(select(Article).order_by(Article.id.desc()).limit(50)))
        find_ids = [a.id for a in newest[:8]]

        def window_count() -> object:  # reads each row of the window, as the section must
            return session.scalar(
                select(func.count(Article.source_id)).where(Article.first_seen_at >= since)
            )

        def select_one() -> object:
            return session.execute(text("SELECT 1")).scalar()

        recent = recent_groups(session)
        rows = {
            "loa status: groups of 2+ in 72 h": (
                median_ms(lambda: recent_groups(session), args.repeat),
                median_ms(window_count, args.repeat),
                "reading the window",
            ),
            "/find: the groups of 8 articles": (
                median_ms(lambda: groups_of_articles(session, find_ids), args.repeat),
                median_ms(select_one, args.repeat),
                "SELECT 1",
            ),
            "feed: cross-references of 50 entries": (
                median_ms(lambda: story_links(session, newest), args.repeat),
                median_ms(lambda: render_spec(session, spec, ctx, Query()), args.repeat),
                "rendering all.json",
            ),
        }
    print(f"load {os.getloadavg()[0]:.2f}; {recent.groups:,} groups in 72 h "
          f"({recent.articles:,} articles)")  # fmt: skip
    print(f"{'read':40} {'ms':>8} {'baseline':>22} {'ms':>8} {'ratio':>7}")
    for label, (ms, base, name) in rows.items():
        print(f"{label:40} {ms:8.2f} {name:>22} {base:8.2f} {ms / base:7.2f}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if not args.database_url or not normalize_url(args.database_url).startswith("postgresql"):
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/loa.db", args)
        return
    url = make_url(normalize_url(args.database_url))
    if url.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("only a loopback PostgreSQL is used")
    name = f"loa_bench_story_views_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        run(url.set(database=name).render_as_string(hide_password=False), args)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
