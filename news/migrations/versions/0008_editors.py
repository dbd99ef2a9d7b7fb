"""editors: pauses that survive restarts, the alerts' ledger, new event kinds

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import news.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NEW_EVENT_KINDS = ("channel_recovered", "backlog_high", "backlog_cleared", "maybe_duplicate")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for kind in NEW_EVENT_KINDS:
            op.execute(f"ALTER TYPE event_kind ADD VALUE IF NOT EXISTS '{kind}'")
    op.create_table(
        "pauses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("source", "chat", "all", name="pause_kind"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", news.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pauses")),
        sa.UniqueConstraint("kind", "name", name="uq_pauses_target"),
    )
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.String(length=100), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending", "sending", "sent", "failed", name="delivery_state", create_type=False
            ),
            nullable=False,
        ),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", news.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", news.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", news.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", news.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name=op.f("fk_alert_deliveries_event_id_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_deliveries")),
        sa.UniqueConstraint("event_id", "chat_id", name="uq_alert_deliveries_target"),
    )
    op.create_index(
        "ix_alert_deliveries_state_due", "alert_deliveries", ["state", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_alert_deliveries_state_due", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_table("pauses")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TYPE IF EXISTS pause_kind")
    # 0007's code cannot read events of the new kinds: they go (PostgreSQL keeps the values).
    events = sa.table("events", sa.column("kind", sa.String))
    op.get_bind().execute(
        events.delete().where(sa.cast(events.c.kind, sa.String).in_(NEW_EVENT_KINDS))
    )
