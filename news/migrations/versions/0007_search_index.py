"""search index over the folded search_text: FTS5 on SQLite, a GIN tsvector index on PostgreSQL

Revision ID: 0007
Revises: 0006

Both index `articles.search_text`, which already holds title + lead folded by
Loa's own folding (FTS5's remove_diacritics would not fold "đ"), so the SQLite
tokenizer keeps diacritics as they are (there are none left) and PostgreSQL
uses the 'simple' configuration (no stemming, no stop words: Vietnamese
syllables are words of their own). Existing rows are indexed here.

SQLite: ``articles_fts`` is an external-content FTS5 table (it stores only the
index, reading the text from ``articles``), kept current by three triggers.
Caution for later migrations: an Alembic batch operation on ``articles``
rebuilds the table by copy-and-drop, and dropping it drops these triggers;
such a migration must re-create them (see `create_sqlite_index`) and rebuild.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FTS = "articles_fts"
PG_INDEX = "ix_articles_search_fts"
TRIGGERS = ("articles_fts_insert", "articles_fts_delete", "articles_fts_update")


def create_sqlite_index() -> None:
    """The FTS5 table, its triggers, and every existing row indexed."""
    op.execute(
        f"CREATE VIRTUAL TABLE {FTS} USING fts5(search_text, content='articles', "
        "content_rowid='id', tokenize='unicode61 remove_diacritics 0')"
    )
    op.execute(
        f"CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
        f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(
        f"CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
        f"INSERT INTO {FTS}({FTS}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); END"
    )
    # Only when the text changed: FTS5's 'delete' must be given exactly the
    # indexed text, which the old row still holds here.
    op.execute(
        f"CREATE TRIGGER articles_fts_update AFTER UPDATE OF search_text ON articles BEGIN "
        f"INSERT INTO {FTS}({FTS}, rowid, search_text) "
        "VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {FTS}(rowid, search_text) VALUES (new.id, new.search_text); END"
    )
    op.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('rebuild')")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        create_sqlite_index()
    else:
        op.execute(
            f"CREATE INDEX {PG_INDEX} ON articles "
            "USING gin (to_tsvector('simple'::regconfig, search_text))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
    else:
        op.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
