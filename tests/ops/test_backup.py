"""`loa db backup` / `loa db restore` as an operator runs them, on both databases.

SQLite: a copy taken while another process writes, restored into a fresh data
directory, where `loa status` sees the same articles; the refusals (an existing
database, a database open in another process). PostgreSQL (with DATABASE_URL):
pg_dump, then pg_restore into a fresh database on the same server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from config.loader import load_settings
from config.settings import Settings
from news import ledger
from news.db import make_engine, make_session_factory, normalize_url, write_session
from news.errors import StorageError
from news.events import record_event
from news.migrate import current_revision, head_revision, upgrade
from news.models import Event, EventKind
from ops.backup import backup, restore
from tests.helpers import extracted, store_article


def _loa(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    drop = {"LOA_CONFIG", "TELEGRAM_BOT_TOKEN", "DATABASE_URL", "REDIS_URL"}
    full = {k: v for k, v in os.environ.items() if k not in drop}
    full.update({"LOA_DATA_DIR": str(cwd / "var"), **env})
    return subprocess.run(
        [sys.executable, "-m", "loa", *args],
        capture_output=True, text=True, timeout=120, cwd=cwd, env=full,
    )  # fmt: skip


def _settings(cwd: Path, **env: str) -> Settings:
    return load_settings(None, environ={"LOA_DATA_DIR": str(cwd / "var"), **env})


def _fill(url: str, articles: int) -> None:
    """`articles` articles, each planned to two chats."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    for n in range(articles):
        article_id = store_article(factory, extracted(n + 1)).article_id
        with write_session(factory) as session:
            ledger.plan_deliveries(session, article_id, ["@a", "@b"])
    engine.dispose()


def test_sqlite_backup_while_loa_writes_then_restore_elsewhere(tmp_path: Path) -> None:
    live, fresh = tmp_path / "live", tmp_path / "fresh"
    live.mkdir()
    fresh.mkdir()
    (live / "var").mkdir()
    url = f"sqlite:///{live / 'var' / 'loa.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    _fill(url, 5)

    stop = threading.Event()

    def write_events() -> None:  # another writer, as a running worker would be
        engine = make_engine(url)
        factory = make_session_factory(engine)
        while not stop.is_set():
            with write_session(factory) as session:
                record_event(session, EventKind.ARTICLE_FLAGGED, "busy")
        engine.dispose()

    writer = threading.Thread(target=write_events, daemon=True)
    writer.start()
    try:
        made = _loa("db", "backup", str(tmp_path / "loa-backup.db"), cwd=live)
    finally:
        stop.set()
        writer.join(10)
    assert made.returncode == 0, made.stderr
    assert f"revision {head_revision()}, 5 articles, 10 deliveries" in made.stdout
    with pytest.raises(StorageError, match="--force replaces it"):
        backup(_settings(live), tmp_path / "loa-backup.db")

    restored = _loa("db", "restore", str(tmp_path / "loa-backup.db"), cwd=fresh)
    assert restored.returncode == 0, restored.stderr
    status = _loa("status", cwd=fresh)
    assert status.returncode == 0, status.stderr
    assert "articles: 5" in status.stdout and "pending 10" in status.stdout

    with pytest.raises(StorageError, match="exists; --force"):
        restore(_settings(fresh), tmp_path / "loa-backup.db")
    # A process with the database open (a running Loa) blocks even a forced restore.
    engine = make_engine(f"sqlite:///{fresh / 'var' / 'loa.db'}")
    with engine.connect() as connection:
        connection.execute(text("SELECT 1 FROM articles")).all()
        busy = _loa("db", "restore", str(tmp_path / "loa-backup.db"), "--force", cwd=fresh)
    engine.dispose()
    assert busy.returncode == 2 and "open in another process" in busy.stderr
    assert restore(_settings(fresh), tmp_path / "loa-backup.db", force=True).articles == 5
    assert len(list((fresh / "var").glob("loa.db.before-restore-*"))) == 1


def test_postgres_dump_and_restore_into_a_fresh_database(
    postgres_server_url: str | None, database_url: str, tmp_path: Path
) -> None:
    if postgres_server_url is None:
        pytest.skip("PostgreSQL only: set DATABASE_URL")
    _fill(database_url, 4)
    dump = tmp_path / "loa.dump"
    made = _loa("db", "backup", str(dump), cwd=tmp_path, DATABASE_URL=database_url)
    assert made.returncode == 0, made.stderr
    assert "4 articles, 8 deliveries" in made.stdout and dump.stat().st_size > 0

    server = make_url(normalize_url(database_url))
    name = f"loa_restore_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    target = server.set(database=name).render_as_string(hide_password=False)
    try:
        restored = _loa("db", "restore", str(dump), cwd=tmp_path, DATABASE_URL=target)
        assert restored.returncode == 0, restored.stderr
        status = _loa("status", cwd=tmp_path, DATABASE_URL=target)
        assert status.returncode == 0, status.stderr
        assert "articles: 4" in status.stdout and "pending 8" in status.stdout
        engine = make_engine(target)
        assert current_revision(engine) == head_revision()  # migrations see it as current
        with make_session_factory(engine)() as session:
            assert session.scalar(select(func.count()).select_from(Event)) == 0
        engine.dispose()
        settings = _settings(tmp_path, DATABASE_URL=target)
        with pytest.raises(StorageError, match="--force replaces it"):
            restore(settings, dump)
        assert restore(settings, dump, force=True).articles == 4
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
