"""reader subscriptions: keywords, language choice, time zone, digest and quiet hours; held deliveries

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import news.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place (no table copy): `subscribers` and `deliveries` are referenced by foreign keys.
    op.add_column(
        "subscribers",
        sa.Column("language_chosen", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "subscribers", sa.Column("blocked_at", news.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column("subscribers", sa.Column("timezone", sa.String(length=64), nullable=True))
    op.add_column("subscribers", sa.Column("digest_at", sa.String(length=5), nullable=True))
    op.add_column("subscribers", sa.Column("quiet_from", sa.Integer(), nullable=True))
    op.add_column("subscribers", sa.Column("quiet_to", sa.Integer(), nullable=True))
    op.add_column("deliveries", sa.Column("bundle", sa.String(length=20), nullable=True))

    # Nothing references `subscriptions`: batch mode may copy it on SQLite.
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("keywords", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("key", sa.String(length=220), nullable=False, server_default=""))
        batch.drop_constraint("uq_subscriptions_pair", type_="unique")
    subscriptions = sa.table(
        "subscriptions", sa.column("category_id", sa.Integer), sa.column("key", sa.String)
    )
    op.get_bind().execute(
        subscriptions.update()
        .where(subscriptions.c.category_id.is_not(None))
        .values(key=sa.literal("cat:") + sa.cast(subscriptions.c.category_id, sa.String))
    )
    op.get_bind().execute(
        subscriptions.update().where(subscriptions.c.category_id.is_(None)).values(key="all")
    )
    with op.batch_alter_table("subscriptions") as batch:
        batch.alter_column("key", server_default=None)
        batch.create_unique_constraint("uq_subscriptions_key", ["subscriber_id", "key"])
    op.create_index("ix_deliveries_chat_bundle", "deliveries", ["chat_id", "bundle"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_chat_bundle", table_name="deliveries")
    subscriptions = sa.table("subscriptions", sa.column("keywords", sa.String))
    # 0005's schema has no place for keyword subscriptions: they go.
    op.get_bind().execute(subscriptions.delete().where(subscriptions.c.keywords.is_not(None)))
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_constraint("uq_subscriptions_key", type_="unique")
        batch.drop_column("key")
        batch.drop_column("keywords")
        batch.create_unique_constraint("uq_subscriptions_pair", ["subscriber_id", "category_id"])
    for column in ("quiet_to", "quiet_from", "digest_at", "timezone", "blocked_at"):
        op.execute(f"ALTER TABLE subscribers DROP COLUMN {column}")
    op.execute("ALTER TABLE subscribers DROP COLUMN language_chosen")
    op.execute("ALTER TABLE deliveries DROP COLUMN bundle")
