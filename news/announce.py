"""Turn stored articles into ledger rows for the chats their routes name."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from config.settings import RouteRule
from news.db import write_session
from news.ledger import plan_deliveries
from news.models import Article, Source
from news.routing import chats_for


def plan_announcements(
    factory: sessionmaker[Session], article_ids: Sequence[int], rules: Sequence[RouteRule]
) -> list[int]:
    """Create pending deliveries (generation 0) for each article; return the pending ids."""
    pending: list[int] = []
    with write_session(factory) as session:
        for article_id in article_ids:
            article = session.get_one(Article, article_id)
            source = session.get(Source, article.source_id) if article.source_id else None
            chats = chats_for(
                rules,
                category_slug=article.category.slug if article.category else None,
                source=source.name if source else "",
                text=f"{article.title} {article.summary}",
            )
            pending.extend(plan_deliveries(session, article_id, chats))
    return pending
