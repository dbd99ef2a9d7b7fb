"""Shared fixtures: real databases and a real Redis.

`DATABASE_URL` set → tests run on that PostgreSQL server, in a database of
their own created for the session and dropped after; unset → a fresh SQLite
file per test. `REDIS_URL` set → that Redis (keys are namespaced per test and
removed); unset → the bundled redis-server, started once for the session.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from loa.embedded_redis import EmbeddedRedis
from news.db import make_engine, make_session_factory, normalize_url
from news.migrate import upgrade
from news.models import Base
from tasks.runtime import redis_client_url

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.sites.fixtures", "telegram_emulator.pytest_plugin"]
SHARED = ROOT.parent / "shared"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str | None]:
    """A private PostgreSQL database for this test session, or None without DATABASE_URL."""
    base = os.environ.get("DATABASE_URL")
    if not base or not normalize_url(base).startswith("postgresql"):
        yield None
        return
    url = make_url(normalize_url(base))
    name = f"loa_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def _migrated_postgres(postgres_server_url: str | None) -> str | None:
    if postgres_server_url is None:
        return None
    engine = make_engine(postgres_server_url)
    upgrade(engine)
    engine.dispose()
    return postgres_server_url


@pytest.fixture
def database_url(_migrated_postgres: str | None, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: PostgreSQL when DATABASE_URL is set, else SQLite."""
    if _migrated_postgres is not None:
        yield _migrated_postgres
        engine = make_engine(_migrated_postgres)
        tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return
    url = f"sqlite:///{tmp_path / 'loa.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    yield eng
    eng.dispose()


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(engine)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis: REDIS_URL, or the bundled server for the session."""
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_client_url(redis_url))
    yield client
    client.close()
