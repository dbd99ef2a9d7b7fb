"""publishing: channels, delivery message methods, versions and duplicate flags

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import news.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("configured", sa.String(length=100), nullable=False),
        sa.Column("chat_id", sa.String(length=100), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column(
            "status", sa.Enum("unknown", "ok", "failed", name="channel_status"), nullable=False
        ),
        sa.Column("can_post", sa.Boolean(), nullable=True),
        sa.Column("can_edit", sa.Boolean(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("checked_at", news.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("configured", name=op.f("uq_channels_configured")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("methods", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(
            sa.Column("article_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("possible_duplicate", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("plain_text", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("withdrawn_at", news.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        for column in ("methods", "article_version", "possible_duplicate", "plain_text"):
            batch_op.alter_column(column, server_default=None)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TYPE event_kind ADD VALUE IF NOT EXISTS 'channel_failed'")


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("plain_text")
        batch_op.drop_column("possible_duplicate")
        batch_op.drop_column("article_version")
        batch_op.drop_column("methods")
    op.drop_table("channels")
    sa.Enum(name="channel_status").drop(op.get_bind(), checkfirst=True)
    # PostgreSQL cannot drop one value from an enum type: 'channel_failed' stays.
