"""feeds: folded search text on articles, pre-compressed feed bodies

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from news.text import slugify

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("rendered_feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_gzip", sa.LargeBinary(), nullable=True))
    # Existing articles: fold with the same function the application uses.
    bind = op.get_bind()
    articles = sa.table(
        "articles",
        sa.column("id", sa.Integer),
        sa.column("title", sa.Text),
        sa.column("summary", sa.Text),
        sa.column("search_text", sa.Text),
    )
    rows = bind.execute(sa.select(articles.c.id, articles.c.title, articles.c.summary)).all()
    for article_id, title, summary in rows:
        bind.execute(
            articles.update()
            .where(articles.c.id == article_id)
            .values(search_text=f" {slugify(f'{title} {summary}').replace('-', ' ')} ")
        )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.alter_column("search_text", existing_type=sa.Text(), server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("rendered_feeds", schema=None) as batch_op:
        batch_op.drop_column("body_gzip")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_column("search_text")
