"""Run Alembic migrations programmatically, once, under a lock.

Only ``loa db upgrade`` and ``loa run``'s supervisor call :func:`upgrade`;
workers never migrate at start. On PostgreSQL an advisory lock makes two
concurrent upgrades (say, two hosts starting at once) run one after the other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from news.errors import StorageError
from news.search import is_search_index

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
PG_MIGRATION_LOCK = 0x10A_0001
#: Indexes defined per dialect in a migration rather than in the models.
DIALECT_INDEXES = frozenset({"ix_articles_recency", "ix_articles_category_recency"})


def include_object(
    _object: object, name: str | None, _type: str, reflected: bool, _compare_to: object
) -> bool:
    """Alembic's filter: schema objects the models do not describe are not differences.

    Migration 0007 creates them per dialect: the search index (an FTS5 table
    and its shadow tables on SQLite, a GIN expression index on PostgreSQL) and
    the reader pages' indexes (NULLS LAST on PostgreSQL, which SQLite cannot say).
    """
    return not (reflected and (is_search_index(name) or name in DIALECT_INDEXES))


def alembic_config() -> Config:
    """Alembic's config pointing at our bundled migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema at `engine` up to `revision`.

    On SQLite, Alembic's batch mode rebuilds a table by copy-and-drop, which
    foreign keys pointing at it (deliveries → articles) would refuse: they are
    switched off around the migration, outside its transaction (SQLite ignores
    the pragma inside one), and checked before the transaction commits.
    """
    cfg = alembic_config()
    try:
        with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            raw: Any = connection.connection.dbapi_connection  # no SQLAlchemy autobegin
            if sqlite:
                raw.execute("PRAGMA foreign_keys=OFF")
            try:
                with connection.begin():
                    if connection.dialect.name == "postgresql":
                        connection.execute(
                            text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_MIGRATION_LOCK}
                        )
                    cfg.attributes["connection"] = connection
                    command.upgrade(cfg, revision)
                    if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                        raise StorageError("database migration left broken foreign keys")
            finally:
                if sqlite:
                    raw.execute("PRAGMA foreign_keys=ON")
    except SQLAlchemyError as exc:
        raise StorageError(f"database migration failed: {exc.__class__.__name__}: {exc}") from exc


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None for an empty database)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision shipped with this code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def ensure_current(engine: Engine) -> None:
    """Raise a clear StorageError (saying what to run) unless the schema is at head."""
    database = engine.url.database
    on_disk = database is not None and database not in ("", ":memory:")
    if engine.dialect.name == "sqlite" and on_disk and not Path(str(database)).is_file():
        raise StorageError(
            f"no database at {database}: run `loa db upgrade` first "
            "(`loa run` migrates for you), or set LOA_DATA_DIR / DATABASE_URL to an existing one"
        )
    try:
        current = current_revision(engine)
    except SQLAlchemyError as exc:
        raise StorageError(
            f"database unreachable ({exc.__class__.__name__}: {exc}); check DATABASE_URL"
        ) from exc
    if current != head_revision():
        raise StorageError(
            f"database schema is at {current or 'nothing'}, code expects {head_revision()}: "
            "run `loa db upgrade`"
        )
