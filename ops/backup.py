"""`loa db backup FILE` and `loa db restore FILE`, for SQLite and PostgreSQL.

SQLite is copied with SQLite's online backup API in one step: a consistent
snapshot of the last commit, taken while Loa runs (in WAL mode readers never
block writers, and writers never block the copy). The copy is checked
(``PRAGMA quick_check``), switched to a self-contained rollback journal, and
renamed into place, so a half-written backup never carries the final name.

PostgreSQL is dumped with ``pg_dump --format=custom`` and restored with
``pg_restore``, run as child processes with the password in ``PGPASSWORD``
(never on the command line, where ``ps`` would show it). Without those tools
the error says the recipe to run by hand.

A restore replaces the whole database, so it refuses while Loa may be using
it: on SQLite when another process has the file open (it holds a lock on the
``-shm`` file's "dead man switch" byte as long as it does), on PostgreSQL when
another session is connected to the database, and with either when a beat
holds its lock in Redis. It also refuses to replace a database that exists
unless ``--force`` is given; an SQLite file so replaced is kept beside it as
``<name>.before-restore-<time>``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url

from config.settings import Settings
from news.db import make_engine, normalize_url
from news.errors import StorageError
from news.migrate import head_revision

#: SQLite's unix VFS: shared-memory lock slots start at byte 120; the 9th is the DMS.
_SHM_DMS_BYTE = 128
PG_RECIPE = (
    "PostgreSQL backup by hand: pg_dump --format=custom --no-owner --no-privileges "
    '--file loa.dump "$DATABASE_URL"; restore into a fresh database: createdb loa_restored && '
    "pg_restore --no-owner --no-privileges --single-transaction --exit-on-error "
    "--dbname postgresql://USER@HOST/loa_restored loa.dump"
)


@dataclass(frozen=True)
class Summary:
    """What a backup holds or a restore brought back, for the one line the CLI prints."""

    path: str
    revision: str | None
    articles: int
    deliveries: int

    def line(self, verb: str) -> str:
        """``backed up … : revision 0010, 12 articles, 30 deliveries`` and what to do next."""
        out = (
            f"{verb} {self.path}: revision {self.revision or 'none'}, "
            f"{self.articles} articles, {self.deliveries} deliveries"
        )
        if self.revision != head_revision():
            out += f" (this code expects {head_revision()}: run `loa db upgrade`)"
        return out


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file Loa uses, or None on PostgreSQL."""
    url = make_url(normalize_url(settings.effective_database_url))
    if url.get_backend_name() != "sqlite":
        return None
    if not url.database or url.database == ":memory:":
        raise StorageError("an in-memory SQLite database cannot be backed up or restored")
    return Path(url.database)


# ------------------------------------------------------------------ backup


def backup(settings: Settings, target: Path, *, force: bool = False) -> Summary:
    """Write a consistent copy of Loa's database to `target` (see the module docstring)."""
    if target.exists() and not force:
        raise StorageError(f"{target} exists; --force replaces it")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        database = sqlite_path(settings)
        if database is None:
            _pg_dump(settings.effective_database_url, partial)
            summary = _pg_summary(settings.effective_database_url, str(target))
        else:
            _sqlite_copy(database, partial, check=True)
            summary = _sqlite_summary(partial, str(target))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return summary


def _sqlite_copy(source: Path, target: Path, *, check: bool) -> None:
    """One-step online backup of `source` into a fresh file `target`, self-contained."""
    if not source.is_file():
        raise StorageError(f"no database at {source}")
    target.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)  # pages=-1: the whole file in one step, one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # no -wal beside the copy
        if check and dst.execute("PRAGMA quick_check").fetchone() != ("ok",):
            raise StorageError(f"the copy of {source} failed SQLite's quick_check")
        dst.commit()
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"cannot copy {source}: {exc}") from exc
    finally:
        dst.close()
        src.close()
    with open(target, "rb") as handle:
        os.fsync(handle.fileno())


def _sqlite_summary(path: Path, shown: str) -> Summary:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        try:
            revision = db.execute("SELECT version_num FROM alembic_version").fetchone()
            articles = db.execute("SELECT count(*) FROM articles").fetchone()[0]
            deliveries = db.execute("SELECT count(*) FROM deliveries").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"{path} is not a Loa database ({exc})") from None
    return Summary(shown, revision[0] if revision else None, int(articles), int(deliveries))


# ------------------------------------------------------------------ restore


def restore(settings: Settings, source: Path, *, force: bool = False) -> Summary:
    """Replace Loa's database with the backup `source` (see the module docstring)."""
    if not source.is_file():
        raise StorageError(f"no backup at {source}")
    _refuse_while_beat_runs(settings)
    database = sqlite_path(settings)
    if database is None:
        return _pg_restore(settings.effective_database_url, source, force=force)
    _sqlite_summary(source, str(source))  # a Loa database, readable, or a clear refusal
    if sqlite_in_use(database):
        raise StorageError(
            f"{database} is open in another process: stop Loa (`loa run`, workers, beat, "
            "serve, bot) before restoring"
        )
    if database.exists() and not force:
        raise StorageError(f"{database} exists; --force replaces it (the old file is kept)")
    database.parent.mkdir(parents=True, exist_ok=True)
    partial = database.with_name(f".{database.name}.restoring-{os.getpid()}")
    try:
        _sqlite_copy(source, partial, check=True)
        if database.exists():  # kept, through SQLite so a crashed writer's -wal is in it too
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            keep = database.with_name(f"{database.name}.before-restore-{stamp}")
            try:
                _sqlite_copy(database, keep, check=False)
            except StorageError:  # not readable as SQLite: keep the bytes as they are
                shutil.copy2(database, keep)
        for leftover in (Path(f"{database}-wal"), Path(f"{database}-shm")):
            leftover.unlink(missing_ok=True)  # an old WAL must never meet the new file
        os.replace(partial, database)
    finally:
        partial.unlink(missing_ok=True)
    return _sqlite_summary(database, str(database))


def sqlite_in_use(database: Path) -> bool:
    """Whether another process has `database` open (WAL mode: it locks the -shm DMS byte)."""
    shm = Path(f"{database}-shm")
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False  # the last connection to close removes it
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SHM_DMS_BYTE)
        return False
    finally:
        os.close(fd)


def _refuse_while_beat_runs(settings: Settings) -> None:
    """A beat holding its lock means Loa runs; Redis not answering proves nothing either way."""
    if not settings.redis_url:
        return
    import redis

    from tasks.beat_lock import BEAT_LOCK_KEY
    from tasks.runtime import redis_client_url

    client = redis.Redis.from_url(
        redis_client_url(settings.redis_url), socket_connect_timeout=2, socket_timeout=2
    )
    try:
        holder = client.get(BEAT_LOCK_KEY)
    except redis.RedisError:
        return
    finally:
        client.close()
    if holder is not None:
        raise StorageError("a Loa beat is running (it holds its lock in Redis): stop Loa first")


# ------------------------------------------------------------------ PostgreSQL


def _pg_url(database_url: str) -> URL:
    return make_url(normalize_url(database_url))


def pg_env(database_url: str) -> dict[str, str]:
    """libpq's environment for `database_url`: the password travels here, not in argv."""
    url = _pg_url(database_url)
    env = dict(os.environ)
    for key, value in (
        ("PGHOST", url.host),
        ("PGPORT", str(url.port) if url.port else None),
        ("PGUSER", url.username),
        ("PGPASSWORD", url.password),
        ("PGDATABASE", url.database),
        ("PGSSLMODE", url.query.get("sslmode")),
    ):
        if isinstance(value, str) and value:
            env[key] = value
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise StorageError(f"{name} is not installed (Debian: postgresql-client). {PG_RECIPE}")
    return found


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        raise StorageError(f"{Path(args[0]).name} failed: {'; '.join(lines[:3])[:500]}")


def _pg_dump(database_url: str, target: Path) -> None:
    _run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
         "--file", str(target)],
        pg_env(database_url),
    )  # fmt: skip


def _pg_summary(database_url: str, shown: str) -> Summary:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            try:
                revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
                articles = connection.scalar(text("SELECT count(*) FROM articles"))
                deliveries = connection.scalar(text("SELECT count(*) FROM deliveries"))
            except Exception as exc:  # noqa: BLE001 - an empty or foreign database
                raise StorageError(f"not a Loa database ({type(exc).__name__})") from None
    finally:
        engine.dispose()
    return Summary(shown, revision, int(articles or 0), int(deliveries or 0))


def _pg_restore(database_url: str, source: Path, *, force: bool) -> Summary:
    """pg_restore into the configured database: empty, or `force` (then --clean)."""
    tool = _tool("pg_restore")
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            others = connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            has_schema = connection.scalar(text("SELECT to_regclass('alembic_version')"))
    finally:
        engine.dispose()
    shown = _pg_url(database_url).render_as_string(hide_password=True)
    if others:
        raise StorageError(
            f"{others} other sessions are connected to {shown}: stop Loa before restoring"
        )
    if has_schema is not None and not force:
        raise StorageError(
            f"{shown} already holds a Loa database; --force replaces it "
            "(or restore into a fresh database: createdb, then DATABASE_URL=... loa db restore)"
        )
    args = [tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error"]
    if has_schema is not None:
        args += ["--clean", "--if-exists"]
    env = pg_env(database_url)
    _run([*args, "--dbname", env.get("PGDATABASE", ""), str(source)], env)
    return _pg_summary(database_url, shown)
