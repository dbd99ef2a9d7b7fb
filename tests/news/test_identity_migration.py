"""Migration 0005: identity keys for rows stored before it, and a working downgrade.

Runs on a database of its own (a fresh SQLite file, or a fresh PostgreSQL
database when DATABASE_URL is set), because it walks the schema down and up.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url

from news.db import make_engine, make_session_factory, normalize_url, utcnow
from news.identity import identity_key
from news.migrate import alembic_config, upgrade
from news.models import Event, EventKind

ROWS = {  # identity as stored by 0004-era code -> its key
    "127.0.0.1:8001#id:3002": "#id:3002",
    "portal.test/tin-tuc/a-1.html": "/tin-tuc/a-1.html",
    "baolang.test?p=512": "?p=512",
    "http://push.test/tin/bai-7.html": "/tin/bai-7.html",
}


@pytest.fixture
def fresh_engine(tmp_path: Path) -> Iterator[Engine]:
    """An empty database: SQLite, or a new PostgreSQL database under DATABASE_URL."""
    base = os.environ.get("DATABASE_URL")
    if not base or not normalize_url(base).startswith("postgresql"):
        engine = make_engine(f"sqlite:///{tmp_path / 'walk.db'}")
        yield engine
        engine.dispose()
        return
    url = make_url(normalize_url(base))
    name = f"loa_walk_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(url.set(database=name).render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _downgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config()
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def _keys(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT identity, identity_key FROM articles")).all()
    return {identity: key for identity, key in rows}


def _columns(engine: Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("articles")}


def test_identity_key_drops_the_host_of_every_form() -> None:
    for identity, key in ROWS.items():
        assert identity_key(identity) == key
    assert identity_key("[::1]:8080#id:5") == "#id:5"
    assert identity_key("portal.test") == "/"


def test_0005_backfills_keys_and_walks_down_and_up(fresh_engine: Engine) -> None:
    upgrade(fresh_engine, "0004")
    articles = sa.table(
        "articles",
        *(sa.column(c) for c in ("id", "source_id", "identity", "url", "canonical_url")),
        *(sa.column(c) for c in ("title", "content_hash", "version", "status")),
        sa.column("first_seen_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("search_text"),
        sa.column("date_inferred"),
        sa.column("summary"),
        sa.column("body"),
    )
    now = utcnow()
    with fresh_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sources (id, name, kind, url, created_at)"
                " VALUES (1, 's', 'h', 'u', :t)"
            ),
            {"t": now},
        )
        for n, identity in enumerate(ROWS, start=1):
            conn.execute(
                articles.insert().values(
                    id=n, source_id=1, identity=identity, url=f"http://x/{n}",
                    canonical_url=f"http://x/{n}", title="t", content_hash="h", version=1,
                    status="active", first_seen_at=now, updated_at=now, search_text="",
                    date_inferred=False, summary="", body="",
                )
            )  # fmt: skip
        _insert_posted_delivery(conn, now)  # a posted article: its delivery points at the row

    upgrade(fresh_engine)
    assert _keys(fresh_engine) == ROWS
    factory = make_session_factory(fresh_engine)
    with factory.begin() as session:
        session.add(Event(kind=EventKind.SOURCE_MOVED, source_id=1, message="moved"))
        session.add(Event(kind=EventKind.ARTICLE_RESTORED, article_id=1, message="back"))
        session.add(Event(kind=EventKind.ARTICLE_WITHDRAWN, article_id=1, message="gone"))

    _downgrade(fresh_engine, "0004")
    assert not {"identity_key", "listed_url"} & _columns(fresh_engine)
    with fresh_engine.connect() as conn:  # 0004's code cannot read the new kinds: they go
        kinds = list(conn.execute(text("SELECT kind FROM events")).scalars())
        assert kinds == ["article_withdrawn"]
        assert conn.execute(text("SELECT count(*) FROM articles")).scalar() == len(ROWS)

    upgrade(fresh_engine)
    assert {"identity_key", "listed_url"} <= _columns(fresh_engine)
    assert _keys(fresh_engine) == ROWS


def test_upgrade_from_0003_with_posted_articles(fresh_engine: Engine) -> None:
    """0004 copies `articles` on SQLite; deliveries pointing at it must not stop the upgrade."""
    upgrade(fresh_engine, "0003")
    now = utcnow()
    with fresh_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sources (id, name, kind, url, created_at)"
                " VALUES (1, 's', 'h', 'u', :t)"
            ),
            {"t": now},
        )
        conn.execute(
            text(
                "INSERT INTO articles (id, source_id, identity, url, canonical_url, title,"
                " content_hash, version, status, first_seen_at, updated_at, date_inferred,"
                " summary, body) VALUES (1, 1, 'x#id:1', 'http://x/1', 'http://x/1', 't', 'h', 1,"
                " 'active', :t, :t, false, '', '')"
            ),
            {"t": now},
        )
        _insert_posted_delivery(conn, now)
    upgrade(fresh_engine)
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT article_id FROM deliveries")).scalar_one() == 1
        assert conn.execute(text("SELECT identity_key FROM articles")).scalar_one() == "#id:1"


def _insert_posted_delivery(conn: Connection, now: datetime) -> None:
    """A sent delivery of article 1, so the articles table has a row pointing at it."""
    conn.execute(
        text(
            "INSERT INTO deliveries (id, article_id, chat_id, generation, state, message_ids,"
            " methods, article_version, possible_duplicate, plain_text, attempts, created_at)"
            " VALUES (1, 1, '-100', 0, 'sent', '[]', '[]', 1, false, false, 0, :t)"
        ),
        {"t": now},
    )
