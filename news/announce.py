"""Turn stored articles into ledger rows for the chats their routes name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from config.settings import PublishConfig, RouteRule
from news.db import utcnow, write_session
from news.ledger import plan_deliveries
from news.models import Article, Source
from news.poll import PollReport
from news.routing import chats_for


@dataclass(frozen=True)
class Planned:
    """A pending delivery and how long to hold it back (0: send now)."""

    delivery_id: int
    delay_seconds: float


def plan_announcements(
    factory: sessionmaker[Session],
    article_ids: Sequence[int],
    rules: Sequence[RouteRule],
    *,
    burst_limit: int | None = None,
    spacing_seconds: float = 0,
    now: datetime | None = None,
) -> list[Planned]:
    """Create pending deliveries (generation 0) for each article, spreading a burst.

    Articles come newest first. Past `burst_limit`, each further article is held
    back `spacing_seconds` more than the previous one, so a site that dumps 50
    articles at once does not flood its channels.
    """
    now = now or utcnow()
    planned: list[Planned] = []
    with write_session(factory) as session:
        for index, article_id in enumerate(article_ids):
            delay = 0.0
            if burst_limit is not None and index >= burst_limit:
                delay = (index - burst_limit + 1) * spacing_seconds
            article = session.get_one(Article, article_id)
            source = session.get(Source, article.source_id) if article.source_id else None
            chats = chats_for(
                rules,
                category_slug=article.category.slug if article.category else None,
                source=source.name if source else "",
                text=f"{article.title} {article.summary}",
            )
            not_before = now + timedelta(seconds=delay) if delay else None
            for delivery_id in plan_deliveries(session, article_id, chats, not_before=not_before):
                planned.append(Planned(delivery_id, delay))
    return planned


def announce_poll(
    factory: sessionmaker[Session],
    report: PollReport,
    rules: Sequence[RouteRule],
    publish: PublishConfig,
) -> list[Planned]:
    """Ledger rows for what a poll found worth announcing.

    A source's first poll is already cut to its newest `announce_first_poll`
    articles, so it is not spread; later polls spread past `publish.burst_limit`.
    """
    return plan_announcements(
        factory,
        report.announce,
        rules,
        burst_limit=None if report.first_poll else publish.burst_limit,
        spacing_seconds=publish.burst_spacing_seconds,
    )
