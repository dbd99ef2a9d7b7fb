"""stories: one story told by several sources (fingerprints, LSH bands, "Also on" copies)

Revision ID: 0012
Revises: 0011

Provincial portals republish each other's articles with small edits. Each new
article gets a MinHash signature (article_fingerprints) and its LSH band keys
(fingerprint_bands, indexed by key and time, so finding candidate copies in
the window is a few index lookups at any table size); copies share a story
(articles.story_id). A chat that already has the story's post gets a later
copy as an "Also on" link on that post (story_copies), not as a new message.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import news.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("first_article_id", sa.Integer(), nullable=True),
        sa.Column("created_at", news.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", news.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("split_by", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
    )
    # In place: a batch copy of `articles` would drop 0007's FTS triggers on SQLite.
    if op.get_bind().dialect.name == "sqlite":  # SQLite can add a column with REFERENCES
        op.execute("ALTER TABLE articles ADD COLUMN story_id INTEGER REFERENCES stories (id)")
    else:
        op.add_column("articles", sa.Column("story_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_articles_story_id_stories"), "articles", "stories", ["story_id"], ["id"]
        )
    op.add_column(
        "articles",
        sa.Column("story_pinned", sa.Boolean(), server_default="0", nullable=False),
    )
    op.create_index(op.f("ix_articles_story_id"), "articles", ["story_id"])
    op.create_table(
        "article_fingerprints",
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("seen_at", news.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_fingerprints_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_fingerprints")),
    )
    op.create_index("ix_article_fingerprints_seen", "article_fingerprints", ["seen_at"])
    op.create_table(
        "fingerprint_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("seen_at", news.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_fingerprint_bands_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fingerprint_bands")),
    )
    op.create_index("ix_fingerprint_bands_key_seen", "fingerprint_bands", ["band_key", "seen_at"])
    # an article's bands (an article delete's cascade), and bands past the window
    # (housekeeping prunes them)
    op.create_index("ix_fingerprint_bands_article", "fingerprint_bands", ["article_id"])
    op.create_index("ix_fingerprint_bands_seen", "fingerprint_bands", ["seen_at"])
    op.create_table(
        "story_copies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("created_at", news.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("shown_at", news.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", news.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_story_copies_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name=op.f("fk_story_copies_delivery_id_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_copies")),
        sa.UniqueConstraint("delivery_id", "article_id", name="uq_story_copies_target"),
    )
    op.create_index("ix_story_copies_article", "story_copies", ["article_id"])
    op.create_index("ix_story_copies_state", "story_copies", ["state"])


def downgrade() -> None:
    op.drop_table("story_copies")
    op.drop_table("fingerprint_bands")
    op.drop_table("article_fingerprints")
    op.drop_index(op.f("ix_articles_story_id"), table_name="articles")
    op.execute("ALTER TABLE articles DROP COLUMN story_pinned")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE articles DROP CONSTRAINT IF EXISTS fk_articles_story_id_stories")
    op.execute("ALTER TABLE articles DROP COLUMN story_id")
    op.drop_table("stories")
