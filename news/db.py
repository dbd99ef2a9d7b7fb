"""Database engines and sessions for SQLite (default) and PostgreSQL.

SQLite is shared by several processes (worker pool, beat, web server), so every
connection runs in WAL mode with a generous ``busy_timeout``, and every
transaction that writes opens with ``BEGIN IMMEDIATE`` (:func:`write_session`):
the write lock is taken before the read, so two workers can never both see a
row as free, and no writer fails on a stale snapshot.
PostgreSQL gets the same guarantee from ``SELECT … FOR UPDATE SKIP LOCKED``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from news.errors import StorageFull

SQLITE_BUSY_TIMEOUT_MS = 30_000
IMMEDIATE_OPTION = "loa_begin_immediate"


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as UTC that always comes back timezone-aware.

    SQLite has no time zone type and returns naive datetimes; feedgen and our
    date logic refuse naive values, so they are rejected on the way in and
    restored to UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: Loa stores only timezone-aware times")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def normalize_url(url: str) -> str:
    """Pick our drivers: psycopg 3 for PostgreSQL URLs given in the short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An Engine for `url`, with the SQLite multi-process settings applied."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    """WAL, busy_timeout, foreign keys, and explicit BEGIN so IMMEDIATE is possible."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (pysqlite would
        # otherwise open transactions lazily and never IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get(IMMEDIATE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (objects outlive them)."""
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A transaction that writes: commits on success, takes the write lock first on SQLite.

    Every read-then-write must use it. In WAL mode a deferred transaction that
    read first and then writes fails at once with "database is locked" when
    another process wrote in between (its snapshot is stale; the busy timeout
    does not help), so the lock is taken up front with ``BEGIN IMMEDIATE``.
    On PostgreSQL the option is ignored and claims use
    ``with_for_update(skip_locked=True)``.
    """
    session = factory()
    try:
        session.connection(execution_options={IMMEDIATE_OPTION: True})
        yield session
        session.commit()
    except OperationalError as exc:
        session.rollback()
        if _disk_full(exc):
            bind = session.get_bind()
            where = (bind if isinstance(bind, Engine) else bind.engine).url
            raise StorageFull(
                f"the disk under the database is full ({where!r}): {exc.orig}"
            ) from exc
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _disk_full(exc: OperationalError) -> bool:
    """Whether SQLite refused a write for want of space (SQLITE_FULL, or ENOSPC on the WAL)."""
    orig = exc.orig
    code = getattr(orig, "sqlite_errorcode", None)
    return code == getattr(sqlite3, "SQLITE_FULL", 13) or "disk is full" in str(orig)


def utcnow() -> datetime:
    """The current moment, timezone-aware (never a naive datetime)."""
    return datetime.now(UTC)
