"""Read-side services shared by the bot, the CLI and the HTTP server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from news.models import Article, ArticleStatus


@dataclass(frozen=True)
class Headline:
    """A short view of an article for lists."""

    title: str
    url: str
    category: str | None
    published_at: datetime | None


def latest_headlines(factory: sessionmaker[Session], limit: int = 5) -> list[Headline]:
    """The newest articles still published by their source, newest first."""
    with factory() as session:
        rows = session.scalars(
            select(Article)
            .where(Article.status == ArticleStatus.ACTIVE)
            .order_by(Article.published_at.desc().nulls_last(), Article.first_seen_at.desc())
            .limit(limit)
        )
        return [
            Headline(
                a.title, a.canonical_url, a.category.name if a.category else None, a.published_at
            )
            for a in rows
        ]
