"""Storage: tz-aware datetimes, migrations matching the models, SQLite settings."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, text
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from news.db import make_engine
from news.errors import StorageError
from news.migrate import (
    current_revision,
    ensure_current,
    head_revision,
    include_object,
    upgrade,
)
from news.models import Base, Source


def test_datetimes_come_back_aware_in_utc(factory: sessionmaker[Session]) -> None:
    ict = timezone(timedelta(hours=7))
    created = datetime(2023, 3, 13, 16, 56, tzinfo=ict)
    with factory.begin() as session:
        session.add(Source(name="s", kind="html", url="http://x/", created_at=created))
    with factory() as session:
        loaded = session.query(Source).one().created_at
    assert loaded.tzinfo is not None
    assert loaded == created
    assert loaded.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(factory: sessionmaker[Session]) -> None:
    with pytest.raises(StatementError, match="naive datetime"), factory.begin() as session:
        session.add(Source(name="s", kind="html", url="http://x/", created_at=datetime(2023, 1, 1)))
        session.flush()


def test_migrations_match_the_models(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []


def test_ensure_current_explains_an_unmigrated_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(StorageError, match="loa db upgrade"):
        ensure_current(engine)
    upgrade(engine)
    ensure_current(engine)
    upgrade(engine)  # a second upgrade is a no-op
    engine.dispose()


def test_sqlite_runs_in_wal_mode_with_busy_timeout(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30000


def test_writers_in_threads_do_not_fail_with_database_locked(
    factory: sessionmaker[Session],
) -> None:
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(10):
                with factory.begin() as session:
                    session.add(Source(name=f"s{n}-{i}", kind="html", url="http://x/"))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with factory() as session:
        assert session.query(Source).count() == 40


def test_control_characters_never_reach_the_database(factory: sessionmaker[Session]) -> None:
    from dataclasses import replace

    from news.models import Article
    from news.store import upsert_article
    from tests.helpers import extracted

    dirty = replace(extracted(1), title="Tin\x00 mới\x1b", body="Nội\x00 dung\nđoạn hai")
    with factory.begin() as session:
        article_id = upsert_article(session, dirty, source=None).article_id
    with factory() as session:
        article = session.get_one(Article, article_id)
        assert article.title == "Tin mới" and article.body == "Nội dung\nđoạn hai"
