"""search index over the folded search_text (FTS5 on SQLite, a GIN tsvector index on PostgreSQL); indexes for the reader bot's pages

Revision ID: 0007
Revises: 0006

Both search indexes cover `articles.search_text`, which already holds title +
lead folded by Loa's own folding (FTS5's remove_diacritics would not fold
"đ"), so the SQLite tokenizer keeps diacritics as they are (there are none
left) and PostgreSQL uses the 'simple' configuration (no stemming, no stop
words: Vietnamese syllables are words of their own). Existing rows are indexed
here.

SQLite: ``articles_fts`` is an FTS5 table with its own copy of the text and,
unindexed, what ranking needs (the article's moment, whether it is active, its
title's length), kept current by three triggers. Ranking thousands of matches
then reads small rows stored in rowid order instead of one 3 KB article row
per match (bench/bot.py: a 15,000-match query went from 130 ms to a few).
Caution for later migrations: an Alembic batch operation on ``articles``
rebuilds the table by copy-and-drop, which drops these triggers; such a
migration must call `create_sqlite_triggers` again.

The reader pages (/latest, an empty inline query) sort by published (NULLs
last), first seen and id, of everything or of one category's active articles;
without an index in that order each page sorted the whole table (bench/bot.py:
140 ms at 100,000 articles). PostgreSQL can say NULLS LAST in an index and
SQLite cannot (its DESC order puts NULLs last anyway), so the definitions
differ by dialect and live here, not in the models (news.migrate.include_object
skips them when models and schema are compared).
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
_ROW = (
    "{r}.search_text, coalesce({r}.published_at, {r}.first_seen_at), "
    "{r}.status = 'active', length({r}.title)"
)
INDEXES = {
    "sqlite": {
        "ix_articles_recency": "(published_at, first_seen_at)",
        "ix_articles_category_recency": "(category_id, status, published_at, first_seen_at)",
    },
    "postgresql": {
        "ix_articles_recency": "(published_at DESC NULLS LAST, first_seen_at DESC, id DESC)",
        "ix_articles_category_recency": (
            "(category_id, status, published_at DESC NULLS LAST, first_seen_at DESC, id DESC)"
        ),
    },
}


def create_sqlite_triggers() -> None:
    """The triggers that keep ``articles_fts`` equal to ``articles``."""
    op.execute(
        "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
        f"INSERT INTO {FTS}(rowid, search_text, moment, active, title_len) "
        f"VALUES (new.id, {_ROW.format(r='new')}); END"
    )
    op.execute(
        "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
        f"DELETE FROM {FTS} WHERE rowid = old.id; END"
    )
    op.execute(
        "CREATE TRIGGER articles_fts_update AFTER UPDATE OF "
        "search_text, title, status, published_at, first_seen_at ON articles BEGIN "
        f"UPDATE {FTS} SET (search_text, moment, active, title_len) = "
        f"({_ROW.format(r='new')}) WHERE rowid = new.id; END"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name, columns in INDEXES[dialect].items():
        op.execute(f"CREATE INDEX {name} ON articles {columns}")
    if dialect == "sqlite":
        op.execute(
            f"CREATE VIRTUAL TABLE {FTS} USING fts5(search_text, moment UNINDEXED, "
            "active UNINDEXED, title_len UNINDEXED, tokenize='unicode61 remove_diacritics 0')"
        )
        create_sqlite_triggers()
        op.execute(
            f"INSERT INTO {FTS}(rowid, search_text, moment, active, title_len) "
            f"SELECT a.id, {_ROW.format(r='a')} FROM articles AS a"
        )
    else:
        op.execute(
            f"CREATE INDEX {PG_INDEX} ON articles "
            "USING gin (to_tsvector('simple'::regconfig, search_text))"
        )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {FTS}")
    else:
        op.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
    for name in INDEXES[dialect]:
        op.execute(f"DROP INDEX IF EXISTS {name}")
