"""source watching: article identity and status, source health, editor events

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import news.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

article_status = sa.Enum("active", "withdrawn", name="article_status")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "source_unhealthy",
                "source_recovered",
                "article_withdrawn",
                "article_flagged",
                name="event_kind",
            ),
            nullable=False,
        ),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("article_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", news.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notified_at", news.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name=op.f("fk_events_article_id_articles")
        ),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sources.id"], name=op.f("fk_events_source_id_sources")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    article_status.create(op.get_bind(), checkfirst=True)
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("identity", sa.String(length=2000), nullable=True))
        batch_op.add_column(
            sa.Column("status", article_status, nullable=False, server_default="active")
        )
        batch_op.add_column(
            sa.Column("withdrawn_at", news.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_checked_at", news.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("page_etag", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("page_last_modified", sa.Text(), nullable=True))
    # Articles stored before identities existed are identified by their canonical URL.
    op.execute("UPDATE articles SET identity = canonical_url WHERE identity IS NULL")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.alter_column("identity", existing_type=sa.String(length=2000), nullable=False)
        batch_op.alter_column("status", existing_type=article_status, server_default=None)
        batch_op.create_unique_constraint(batch_op.f("uq_articles_identity"), ["identity"])

    with op.batch_alter_table("source_states", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("healthy", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column("unhealthy_since", news.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("last_recheck_at", news.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("source_states", schema=None) as batch_op:
        batch_op.alter_column("healthy", existing_type=sa.Boolean(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("source_states", schema=None) as batch_op:
        batch_op.drop_column("last_recheck_at")
        batch_op.drop_column("unhealthy_since")
        batch_op.drop_column("healthy")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_articles_identity"), type_="unique")
        batch_op.drop_column("page_last_modified")
        batch_op.drop_column("page_etag")
        batch_op.drop_column("last_checked_at")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("status")
        batch_op.drop_column("identity")
    op.drop_table("events")
    article_status.drop(op.get_bind(), checkfirst=True)
    sa.Enum(name="event_kind").drop(op.get_bind(), checkfirst=True)
