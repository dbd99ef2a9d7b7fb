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
from news.reader_schedule import hold_for
from news.routing import chats_for, chats_without_dedupe
from news.stories.copies import divert_copies
from news.subscriptions import recipients_for


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
    readers: bool = True,
    default_tz: str = "Asia/Ho_Chi_Minh",
    dedupe_readers: bool = True,
) -> list[Planned]:
    """Create pending deliveries (generation 0) for each article, spreading a burst.

    The chats are those the routes name plus the readers subscribed to the
    article (`readers`), all in the same ledger. Articles come newest first.
    Past `burst_limit`, each further article is held back `spacing_seconds`
    more than the previous one, so a site that dumps 50 articles at once does
    not flood its channels.

    One story, one post: a chat whose rules dedupe stories (readers:
    `dedupe_readers`) and that already has a post of another copy of the
    article's story gets an "Also on" link on that post instead (a StoryCopy
    row, see news.stories.copies); the edit that shows it is enqueued by the
    caller (tasks.actions) or found by the reconciler.
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
            slug = article.category.slug if article.category else None
            name, text = (source.name if source else ""), f"{article.title} {article.summary}"
            chats = chats_for(rules, category_slug=slug, source=name, text=text)
            every_copy = chats_without_dedupe(rules, category_slug=slug, source=name, text=text)
            own = set(divert_copies(session, article, [c for c in chats if c not in every_copy]))
            chats = [c for c in chats if c in every_copy or c in own]
            not_before = now + timedelta(seconds=delay) if delay else None
            for delivery_id in plan_deliveries(session, article_id, chats, not_before=not_before):
                planned.append(Planned(delivery_id, delay))
            if readers:
                planned += _plan_readers(
                    session, article, now, not_before, delay, default_tz, dedupe=dedupe_readers
                )
    return planned


def _plan_readers(
    session: Session,
    article: Article,
    now: datetime,
    not_before: datetime | None,
    delay: float,
    default_tz: str,
    *,
    dedupe: bool = True,
) -> list[Planned]:
    """Ledger rows for the readers subscribed to `article`, held per their quiet hours or digest.

    Held rows are not returned: they are due later, as one message per chat
    (news.bundles), and the reconciler sends them then. With `dedupe`, a
    reader who already has a post of the story gets a link on it instead.
    """
    planned: list[Planned] = []
    send_now: list[str] = []
    held: dict[tuple[str, datetime], list[str]] = {}
    recipients = recipients_for(session, article)
    if dedupe and recipients:
        wanted = set(divert_copies(session, article, [r.chat_id for r in recipients]))
        recipients = [r for r in recipients if r.chat_id in wanted]
    for recipient in recipients:
        hold = hold_for(
            now=now,
            default_tz=default_tz,
            tz=recipient.timezone,
            digest_at=recipient.digest_at,
            quiet_from=recipient.quiet_from,
            quiet_to=recipient.quiet_to,
        )
        if hold.bundle is None or hold.release_at is None:
            send_now.append(recipient.chat_id)
        else:
            held.setdefault((hold.bundle, hold.release_at), []).append(recipient.chat_id)
    for delivery_id in plan_deliveries(session, article.id, send_now, not_before=not_before):
        planned.append(Planned(delivery_id, delay))
    for (bundle, release_at), chats in held.items():
        plan_deliveries(session, article.id, chats, not_before=release_at, bundle=bundle)
    return planned


def announce_poll(
    factory: sessionmaker[Session],
    report: PollReport,
    rules: Sequence[RouteRule],
    publish: PublishConfig,
    *,
    default_tz: str = "Asia/Ho_Chi_Minh",
    dedupe_readers: bool = True,
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
        default_tz=default_tz,
        dedupe_readers=dedupe_readers,
    )
