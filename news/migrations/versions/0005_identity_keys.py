"""identity keys: match a source's articles without the host; listed URLs; source moves

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from news.identity import identity_key

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

NEW_EVENT_KINDS = ("source_moved", "article_restored")


def upgrade() -> None:
    # Added in place (no table copy on SQLite); the empty default stays, as in the model.
    op.add_column(
        "articles",
        sa.Column("identity_key", sa.String(length=2000), nullable=False, server_default=""),
    )
    op.add_column("articles", sa.Column("listed_url", sa.Text(), nullable=True))
    # Existing identities carry their host ("host#id:N", "host/path"): key them
    # with the same function the application uses.
    bind = op.get_bind()
    articles = sa.table(
        "articles",
        sa.column("id", sa.Integer),
        sa.column("identity", sa.String),
        sa.column("identity_key", sa.String),
    )
    rows = bind.execute(sa.select(articles.c.id, articles.c.identity)).all()
    for article_id, identity in rows:
        bind.execute(
            articles.update()
            .where(articles.c.id == article_id)
            .values(identity_key=identity_key(identity))
        )
    op.create_index("ix_articles_source_key", "articles", ["source_id", "identity_key"])
    if bind.dialect.name == "postgresql":
        for kind in NEW_EVENT_KINDS:
            op.execute(f"ALTER TYPE event_kind ADD VALUE IF NOT EXISTS '{kind}'")


def downgrade() -> None:
    # 0004's code cannot read events of the new kinds (they are notes for the
    # editors, not state): they go. PostgreSQL cannot drop an enum value, so
    # the type keeps them, as 0003's 'channel_failed' is kept.
    events = sa.table("events", sa.column("kind", sa.String))
    op.get_bind().execute(
        events.delete().where(sa.cast(events.c.kind, sa.String).in_(NEW_EVENT_KINDS))
    )
    op.drop_index("ix_articles_source_key", table_name="articles")
    # In place, never a batch table copy: on SQLite that copy drops `articles`,
    # which the deliveries' and events' foreign keys forbid (SQLite 3.35+).
    op.execute("ALTER TABLE articles DROP COLUMN listed_url")
    op.execute("ALTER TABLE articles DROP COLUMN identity_key")
