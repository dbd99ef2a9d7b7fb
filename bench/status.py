"""The `/status` page's queries on a large ledger: 100,000 articles, 1,000,000 deliveries.

Why: the operator opens the page when something is wrong, often when the
ledger is largest; it must answer in well under a second and no query may scan
the whole deliveries table. The yardstick, measured in the same run, is the
page's cheapest query (`SELECT 1` round trip), so the ratio shows what the
page's reads cost beyond talking to the database at all.

What it does: creates a private PostgreSQL database (`--database-url` /
`DATABASE_URL`, dropped at the end) or, without one, a SQLite file in a temp
dir, migrates it and fills it (PostgreSQL: in SQL with `generate_series`;
SQLite: `executemany`) with the same shape (20 sources, `--articles` articles over 90 days, ten
deliveries each: five channels and five of 5,000 readers; 97 % sent, 1 %
failed, the rest pending or sending). Then it times
:func:`ops.status_data.status_snapshot` (median of `--repeat` runs) and prints
the plan of each of the page's own queries (`EXPLAIN ANALYZE` on PostgreSQL, `EXPLAIN QUERY
PLAN` on SQLite), so a scan of the whole `deliveries` table shows at once. It asserts nothing.

Usage: .venv/bin/python bench/status.py [--articles 100000] [--repeat 5]
       [--database-url postgresql+psycopg://…]
Only 127.0.0.1 is targeted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from news.db import make_engine, make_session_factory, normalize_url  # noqa: E402
from news.migrate import upgrade  # noqa: E402
from news.status import current_status  # noqa: E402
from ops.status_data import status_snapshot  # noqa: E402

SEED = """
INSERT INTO sources (id, name, kind, url, created_at)
SELECT g, 'source-' || g, 'html', 'http://127.0.0.1/s' || g || '/', now() - interval '90 days'
FROM generate_series(1, 20) g;
INSERT INTO source_states (source_id, last_polled_at, last_success_at, consecutive_failures,
                           polls, healthy)
SELECT g, now() - interval '1 minute', now() - interval '1 minute', 0, 1000, g % 7 <> 0
FROM generate_series(1, 20) g;
INSERT INTO articles (id, source_id, identity, identity_key, search_text, url, canonical_url,
                      title, summary, body, content_hash, version, first_seen_at, updated_at,
                      status, date_inferred, pushed)
SELECT g, 1 + g % 20, 'tag:a' || g, 'a' || g, 'bai ' || g, 'http://127.0.0.1/a/' || g,
       'http://127.0.0.1/a/' || g, 'Bài số ' || g, '', '', md5(g::text), 1,
       now() - (:articles - g) * interval '90 days' / :articles,
       now() - (:articles - g) * interval '90 days' / :articles, 'active', false, false
FROM generate_series(1, :articles) g;
INSERT INTO deliveries (article_id, chat_id, generation, state, message_ids, methods,
                        article_version, possible_duplicate, plain_text, attempts, last_error,
                        created_at, claimed_at, sent_at, next_attempt_at)
SELECT a, chat, 0, state::delivery_state, '[]', '[]', 1, false, false, 1,
       CASE WHEN state = 'failed' THEN 'Forbidden: bot was blocked by the user' END,
       seen, seen + interval '2 seconds',
       CASE WHEN state = 'sent' THEN seen + interval '3 seconds' END, NULL
FROM (
  SELECT g / 10 + 1 AS a, a.first_seen_at AS seen,
         CASE WHEN g % 10 < 5 THEN '@channel_' || g % 10
              ELSE (100000000 + (g::bigint * 7919) % 5000)::text END AS chat,
         CASE WHEN g % 100 = 7 THEN 'failed'
              WHEN g % 100 = 8 AND g > :deliveries - 5000 THEN 'pending'
              WHEN g % 1000 = 9 AND g > :deliveries - 5000 THEN 'sending'
              ELSE 'sent' END AS state
  FROM generate_series(0, :deliveries - 1) g JOIN articles a ON a.id = g / 10 + 1
) d;
INSERT INTO channels (configured, chat_id, status)
SELECT '@channel_' || g, '-100' || g, CASE WHEN g = 3 THEN 'failed' ELSE 'ok' END::channel_status
FROM generate_series(0, 4) g;
SELECT setval('articles_id_seq', :articles);
ANALYZE;
"""

PAGE_QUERIES = {
    "deliveries by state (loa status)": "SELECT state, count(*) FROM deliveries GROUP BY state",
    "possible duplicates (loa status)": (
        "SELECT count(*) FROM deliveries WHERE possible_duplicate"
    ),
    "created in the last hour (loa status, counted in Python)": (
        "SELECT state FROM deliveries WHERE created_at >= now() - interval '1 hour'"
    ),
    "articles (loa status)": "SELECT count(*) FROM articles",
    "open deliveries per chat": (
        "SELECT chat_id, state, count(*) FROM deliveries "
        "WHERE state IN ('pending', 'sending', 'failed') GROUP BY chat_id, state"
    ),
    "sent per chat, 24 h (counted in Python)": (
        "SELECT chat_id FROM deliveries WHERE sent_at >= now() - interval '24 hours'"
    ),
    "latest failures": (
        "SELECT d.id FROM deliveries d JOIN articles a ON a.id = d.article_id "
        "WHERE d.state = 'failed' ORDER BY d.id DESC LIMIT 20"
    ),
    "sent per hour, 48 h": (
        "SELECT date_trunc('hour', sent_at AT TIME ZONE 'UTC'), count(*) FROM deliveries "
        "WHERE sent_at >= now() - interval '48 hours' GROUP BY 1"
    ),
    "articles per hour, 48 h": (
        "SELECT date_trunc('hour', first_seen_at AT TIME ZONE 'UTC'), count(*) FROM articles "
        "WHERE first_seen_at >= now() - interval '48 hours' GROUP BY 1"
    ),
    "latest article per source": (
        "SELECT s.name, (SELECT id FROM articles WHERE source_id = s.id "
        "ORDER BY first_seen_at DESC LIMIT 1) FROM sources s"
    ),
}


def main() -> None:
    """Fill, time, explain; drop the database whatever happens."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not args.database_url or not normalize_url(args.database_url).startswith("postgresql"):
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{tmp}/loa.db", args)
        return
    url = make_url(normalize_url(args.database_url))
    if url.host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("only a loopback PostgreSQL is used")
    name = f"loa_bench_status_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        run(url.set(database=name).render_as_string(hide_password=False), args)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, args: argparse.Namespace) -> None:
    """Seed the database at `url`, then print the timings and plans."""
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    params = {"articles": args.articles, "deliveries": args.articles * 10}
    if engine.dialect.name == "sqlite":
        _fill_sqlite(engine, args.articles)
    else:
        with engine.begin() as conn:
            for statement in SEED.split(";\n"):
                if statement.strip():
                    conn.execute(text(statement), params)
    print(
        f"filled {args.articles:,} articles, {args.articles * 10:,} deliveries "
        f"in {time.perf_counter() - started:.1f} s"
    )
    factory = make_session_factory(engine)
    base, page, shared = [], [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        base.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        current_status(factory)
        shared.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        status_snapshot(factory)
        page.append(time.perf_counter() - t0)
    b, p = statistics.median(base), statistics.median(page)
    load = os.getloadavg()[0]
    c = statistics.median(shared)
    print(
        f"load {load:.2f}  SELECT 1: {b * 1000:.2f} ms  `loa status` (current_status): "
        f"{c * 1000:.1f} ms ({c / b:.0f}x)  page snapshot: {p * 1000:.1f} ms ({p / b:.0f}x)"
    )
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        for label, sql in PAGE_QUERIES.items():
            print(f"\n-- {label}")
            if sqlite:
                sql = _sqlite_sql(sql)
                plan = [str(row[-1]) for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql))]
            else:
                plan = list(conn.execute(text("EXPLAIN (ANALYZE, COSTS OFF) " + sql)).scalars())
            print("\n".join(plan))
    engine.dispose()


def _sqlite_sql(sql: str) -> str:
    """The PostgreSQL spellings of PAGE_QUERIES in SQLite's words (plans only)."""
    for hours in ("1 hour", "24 hours", "48 hours"):
        sql = sql.replace(f"now() - interval '{hours}'", f"datetime('now', '-{hours}')")
    for column in ("sent_at", "first_seen_at"):
        sql = sql.replace(
            f"date_trunc('hour', {column} AT TIME ZONE 'UTC')",
            f"strftime('%Y-%m-%d %H:00:00', {column})",
        )
    return sql.replace("WHERE possible_duplicate", "WHERE possible_duplicate = 1")


def _fill_sqlite(engine: Engine, articles: int) -> None:
    """The SEED's rows for SQLite, written with executemany in one transaction."""
    now = datetime.now(UTC).replace(tzinfo=None)
    span = timedelta(days=90)
    seen = [now - span * (articles - a) / articles for a in range(1, articles + 1)]
    old = str(now - span)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        cur.executemany(
            "INSERT INTO sources (id, name, kind, url, created_at) VALUES (?, ?, 'html', ?, ?)",
            [(g, f"source-{g}", f"http://127.0.0.1/s{g}/", old) for g in range(1, 21)],
        )
        cur.executemany(
            "INSERT INTO source_states (source_id, last_polled_at, last_success_at, "
            "consecutive_failures, polls, healthy) VALUES (?, ?, ?, 0, 1000, ?)",
            [(g, str(now), str(now), g % 7 != 0) for g in range(1, 21)],
        )
        cur.executemany(
            "INSERT INTO articles (id, source_id, identity, identity_key, search_text, url, "
            "canonical_url, title, summary, body, content_hash, version, first_seen_at, "
            "updated_at, status, date_inferred, pushed) VALUES "
            "(?, ?, ?, ?, '', ?, ?, ?, '', '', ?, 1, ?, ?, 'active', 0, 0)",
            (
                (
                    a,
                    1 + a % 20,
                    f"tag:a{a}",
                    f"a{a}",
                    f"http://127.0.0.1/a/{a}",
                    f"http://127.0.0.1/a/{a}",
                    f"Bài số {a}",
                    f"{a:064x}",
                    str(seen[a - 1]),
                    str(seen[a - 1]),
                )
                for a in range(1, articles + 1)
            ),
        )
        total = articles * 10

        def delivery(g: int) -> tuple[object, ...]:
            a = g // 10 + 1
            chat = f"@channel_{g % 10}" if g % 10 < 5 else str(100000000 + (g * 7919) % 5000)
            state = "sent"
            if g % 100 == 7:
                state = "failed"
            elif g % 100 == 8 and g > total - 5000:
                state = "pending"
            elif g % 1000 == 9 and g > total - 5000:
                state = "sending"
            at = seen[a - 1]
            sent = str(at + timedelta(seconds=3)) if state == "sent" else None
            error = "Forbidden: bot was blocked by the user" if state == "failed" else None
            return (a, chat, state, error, str(at), str(at + timedelta(seconds=2)), sent)

        cur.executemany(
            "INSERT INTO deliveries (article_id, chat_id, generation, state, message_ids, "
            "methods, article_version, possible_duplicate, plain_text, attempts, last_error, "
            "created_at, claimed_at, sent_at) VALUES (?, ?, 0, ?, '[]', '[]', 1, 0, 0, 1, ?, "
            "?, ?, ?)",
            (delivery(g) for g in range(total)),
        )
        cur.executemany(
            "INSERT INTO channels (configured, chat_id, status) VALUES (?, ?, ?)",
            [(f"@channel_{g}", f"-100{g}", "failed" if g == 3 else "ok") for g in range(5)],
        )


if __name__ == "__main__":
    main()
