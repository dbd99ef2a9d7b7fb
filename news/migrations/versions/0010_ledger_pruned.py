"""housekeeping: mark articles whose finished delivery rows retention deleted

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import news.db

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place: a batch copy of `articles` would drop 0007's FTS triggers on SQLite.
    op.add_column(
        "articles",
        sa.Column("ledger_pruned_at", news.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE articles DROP COLUMN ledger_pruned_at")
