"""pushed articles: the CMS's content is not replaced by a re-check of the page

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place: a batch copy of `articles` would drop 0007's FTS triggers on SQLite.
    op.add_column("articles", sa.Column("pushed", sa.Boolean(), nullable=False, server_default="0"))


def downgrade() -> None:
    op.execute("ALTER TABLE articles DROP COLUMN pushed")
