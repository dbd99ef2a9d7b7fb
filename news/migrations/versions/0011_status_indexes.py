"""status page: indexes for recent sends and articles, each source's latest, duplicates

Revision ID: 0011
Revises: 0010

The operator's `/status` page reads messages sent and articles found per hour
over the last 48 hours and each source's newest article; without these, each
read is a scan of the whole ledger, and so are `loa status`'s
last-hour and possible-duplicate counts (1,000,000 deliveries: ~60 ms apiece on
PostgreSQL, more on SQLite). See ops.status_data and bench/status.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain CREATE INDEX, no batch copy: a copy of `articles` would drop 0007's FTS triggers.
    op.create_index("ix_deliveries_sent_at", "deliveries", ["sent_at"])
    op.create_index("ix_deliveries_created_at", "deliveries", ["created_at"])
    op.create_index(
        "ix_deliveries_possible_duplicate",
        "deliveries",
        ["possible_duplicate"],
        postgresql_where=sa.text("possible_duplicate"),
        sqlite_where=sa.text("possible_duplicate = 1"),
    )
    op.create_index("ix_articles_first_seen", "articles", ["first_seen_at"])
    op.create_index("ix_articles_source_seen", "articles", ["source_id", "first_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_source_seen", table_name="articles")
    op.drop_index("ix_articles_first_seen", table_name="articles")
    op.drop_index("ix_deliveries_possible_duplicate", table_name="deliveries")
    op.drop_index("ix_deliveries_created_at", table_name="deliveries")
    op.drop_index("ix_deliveries_sent_at", table_name="deliveries")
